#pragma once
// Table of completed multipart uploads (issue 19): `c` <upload id> -> CompletedUploadRecord,
// kept at least 24 h so that a repeated CompleteMultipartUpload gets the same answer.

#include <cstdint>
#include <optional>
#include <string>

#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/meta/row.h"

namespace mosaic::gateway::meta::completed_uploads {

absl::StatusOr<std::optional<v1::CompletedUploadRecord>> Get(Transaction& t,
                                                             const std::string& upload_id);
absl::Status Put(Transaction& t, const v1::CompletedUploadRecord& r);
// Deletes up to `limit` records completed before `before_ms`; returns how many.
absl::StatusOr<uint64_t> Expire(Transaction& t, int64_t before_ms, size_t limit);

}  // namespace mosaic::gateway::meta::completed_uploads
