#pragma once
// Tables of multipart uploads in progress and their parts:
//   `u` <bucket> NUL <key> NUL <upload id>  -> UploadRecord (upload ids are hex: no NUL)
//   `p` <upload id> NUL <part number u32 BE> -> ObjectPart (its piece by id only)
// A part's writer holds the upload's row with a shared lock; Complete, Abort and DeleteBucket
// take it exclusively, so they see every part committed and none in flight.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/meta/entries.h"
#include "server/gateway/meta/row.h"

namespace mosaic::gateway::meta::uploads {

absl::StatusOr<std::optional<v1::UploadRecord>> Get(Transaction& t, const std::string& bucket,
                                                    const std::string& key,
                                                    const std::string& upload_id,
                                                    std::optional<Transaction::Lock> lock = {});
absl::Status Put(Transaction& t, const std::string& bucket, const std::string& key,
                 const v1::UploadRecord& record);
absl::Status Delete(Transaction& t, const std::string& bucket, const std::string& key,
                    const std::string& upload_id);
// Uploads of `bucket` whose key starts with `prefix`, after (key_marker, upload_marker).
absl::StatusOr<std::vector<UploadEntry>> List(Transaction& t, const std::string& bucket,
                                              const std::string& prefix,
                                              const std::string& key_marker,
                                              const std::string& upload_marker, size_t limit);
absl::StatusOr<std::vector<UploadEntry>> InitiatedBefore(Transaction& t, int64_t before_ms,
                                                         size_t limit);

absl::StatusOr<std::optional<v1::ObjectPart>> GetPart(Transaction& t, const std::string& upload_id,
                                                      uint32_t number,
                                                      std::optional<Transaction::Lock> lock = {});
absl::Status PutPart(Transaction& t, const std::string& upload_id, const v1::ObjectPart& part);
absl::Status DeletePart(Transaction& t, const std::string& upload_id, uint32_t number);
// Parts with number > `after`, in order, at most `limit`; as stored (pieces by id).
absl::StatusOr<std::vector<v1::ObjectPart>> ListParts(Transaction& t, const std::string& upload_id,
                                                      uint32_t after, size_t limit);

}  // namespace mosaic::gateway::meta::uploads
