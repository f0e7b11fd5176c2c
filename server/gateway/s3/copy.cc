// copy.cc: work in progress (issue 6); answers 501 until implemented.

#include "server/gateway/s3/errors.h"
#include "server/gateway/s3/handler.h"

namespace mosaic::gateway {

absl::Status CopyObject(Ctx&) { return S3Error(S3Code::kNotImplemented, "CopyObject is not implemented yet"); }

}  // namespace mosaic::gateway
