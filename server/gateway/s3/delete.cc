// DeleteObject. (DeleteObjects, the batch form, comes with the multipart issue.)

#include "common/status.h"
#include "server/gateway/s3/errors.h"
#include "server/gateway/s3/handler.h"

namespace mosaic::gateway {

absl::Status DeleteObject(Ctx& ctx) {
  RETURN_IF_ERROR(Require(ctx, v1::Grant::WRITE));
  RETURN_IF_ERROR(RequireBucket(ctx).status());
  RETURN_IF_ERROR(ctx.svc.meta.DeleteObject(ctx.req.bucket, ctx.req.key).status());
  return ctx.ex.Send(204, "");
}

absl::Status DeleteObjects(Ctx&) {
  return S3Error(S3Code::kNotImplemented, "DeleteObjects is not implemented yet");
}

}  // namespace mosaic::gateway
