#pragma once
// Pieces of CopyObject that unit tests reach (the destination's write conditions are
// object_put.h's WriteConditions).
// (The x-amz-copy-source parser, shared with UploadPartCopy, is multipart.h's.)

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/meta/meta_store.h"
#include "server/gateway/s3/request.h"

namespace mosaic::gateway {

// A copy's source version: a delete marker cannot be copied (InvalidRequest when named by
// id; NoSuchKey when it is the newest version, which only a version id can reach here).
[[nodiscard]] absl::Status CheckCopySourceVersion(const v1::ObjectRecord& source,
                                                  const std::optional<std::string>& version);

// x-amz-copy-source-if-match, -if-none-match, -if-modified-since, -if-unmodified-since of
// `request` against the source object, with S3's precedence: a matching if-match overrides
// if-unmodified-since, a present if-none-match overrides if-modified-since.
// PreconditionFailed (412) when one fails (never 304: a copy has nothing to keep), else OK.
[[nodiscard]] absl::Status CheckCopySourceConditions(const RequestView& request,
                                                     const v1::ObjectRecord& source);

}  // namespace mosaic::gateway
