// tagging.cc: work in progress (issue 6); answers 501 until implemented.

#include "server/gateway/s3/errors.h"
#include "server/gateway/s3/handler.h"

namespace mosaic::gateway {

absl::Status GetObjectTagging(Ctx&) { return S3Error(S3Code::kNotImplemented, "GetObjectTagging is not implemented yet"); }

absl::Status PutObjectTagging(Ctx&) { return S3Error(S3Code::kNotImplemented, "PutObjectTagging is not implemented yet"); }

absl::Status DeleteObjectTagging(Ctx&) { return S3Error(S3Code::kNotImplemented, "DeleteObjectTagging is not implemented yet"); }

}  // namespace mosaic::gateway
