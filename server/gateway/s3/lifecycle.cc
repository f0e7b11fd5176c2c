// Put/Get/DeleteBucketLifecycleConfiguration: the rules are kept in the bucket's record
// (lifecycle_rules.h parses them) and applied by the lifecycle job (jobs/lifecycle.h).

#include "common/status.h"
#include "server/gateway/s3/errors.h"
#include "server/gateway/s3/handler.h"
#include "server/gateway/s3/lifecycle_rules.h"
#include "server/gateway/s3/object_lock.h"
#include "server/gateway/s3/request_body.h"

namespace mosaic::gateway {
namespace {

constexpr size_t kMaxLifecycleBodyBytes = 1 << 20;

absl::Status SetRules(Ctx& ctx, const std::vector<v1::LifecycleRule>& rules) {
  absl::Status s = ctx.svc.meta.UpdateBucket(ctx.req.bucket, [&](v1::BucketRecord& b) {
    b.mutable_lifecycle()->Assign(rules.begin(), rules.end());
    return absl::OkStatus();
  });
  if (absl::IsNotFound(s) && !IsS3Error(s)) return S3Error(S3Code::kNoSuchBucket);
  return s;
}

}  // namespace

absl::Status PutBucketLifecycleConfiguration(Ctx& ctx) {
  RETURN_IF_ERROR(Require(ctx, v1::Grant::OWNER));
  RETURN_IF_ERROR(RequireBucket(ctx).status());
  RETURN_IF_ERROR(RequireIntegrityHeader(ctx.ex.request()));
  ASSIGN_OR_RETURN(std::string body, ReadWholeBody(ctx, kMaxLifecycleBodyBytes));
  ASSIGN_OR_RETURN(std::vector<v1::LifecycleRule> rules, ParseLifecycle(body));
  RETURN_IF_ERROR(SetRules(ctx, rules));
  return ctx.ex.Send(200, "");
}

absl::Status GetBucketLifecycleConfiguration(Ctx& ctx) {
  RETURN_IF_ERROR(Require(ctx, v1::Grant::READ));
  ASSIGN_OR_RETURN(v1::BucketRecord bucket, RequireBucket(ctx));
  if (bucket.lifecycle_size() == 0) return S3Error(S3Code::kNoSuchLifecycleConfiguration);
  return SendXml(ctx, LifecycleXml(bucket.lifecycle()));
}

absl::Status DeleteBucketLifecycle(Ctx& ctx) {
  RETURN_IF_ERROR(Require(ctx, v1::Grant::OWNER));
  RETURN_IF_ERROR(RequireBucket(ctx).status());
  RETURN_IF_ERROR(SetRules(ctx, {}));
  return ctx.ex.Send(204, "");
}

}  // namespace mosaic::gateway
