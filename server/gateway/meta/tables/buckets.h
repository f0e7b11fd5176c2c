#pragma once
// Table of buckets: `b` <name> -> BucketRecord.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/meta/row.h"

namespace mosaic::gateway::meta::buckets {

std::string Key(const std::string& name);
absl::StatusOr<std::optional<v1::BucketRecord>> Get(Transaction& t, const std::string& name,
                                                    std::optional<Transaction::Lock> lock = {});
absl::Status Put(Transaction& t, const std::string& name, const v1::BucketRecord& r);
absl::Status Delete(Transaction& t, const std::string& name);
absl::StatusOr<std::vector<std::pair<std::string, v1::BucketRecord>>> List(Transaction& t);

}  // namespace mosaic::gateway::meta::buckets
