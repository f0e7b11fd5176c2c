#pragma once
// Table of objects: `o` <bucket> NUL <key> -> ObjectRecord, its pieces by id only (bucket
// names never contain NUL; the byte order of keys is S3's listing order).

#include <optional>
#include <string>
#include <vector>

#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/meta/entries.h"
#include "server/gateway/meta/row.h"

namespace mosaic::gateway::meta::objects {

// The record as stored: parts name their pieces, without manifests (pieces::Hydrate).
absl::StatusOr<std::optional<v1::ObjectRecord>> Get(Transaction& t, const std::string& bucket,
                                                    const std::string& key,
                                                    std::optional<Transaction::Lock> lock = {});
absl::Status Put(Transaction& t, const std::string& bucket, const std::string& key,
                 const v1::ObjectRecord& record);
absl::Status Delete(Transaction& t, const std::string& bucket, const std::string& key);
// Up to `limit` objects of `bucket` whose key starts with `prefix` and is >= `start`.
absl::StatusOr<std::vector<ObjectEntry>> List(Transaction& t, const std::string& bucket,
                                              const std::string& prefix, const std::string& start,
                                              size_t limit);

}  // namespace mosaic::gateway::meta::objects
