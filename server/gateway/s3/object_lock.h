#pragma once
// S3 Object Lock (docs/architecture.md, "Object Lock"): a bucket created with
// x-amz-bucket-object-lock-enabled keeps versioning on and may carry a default retention
// (Put/GetObjectLockConfiguration); a version may carry a retention (GOVERNANCE or
// COMPLIANCE until a date) and a legal hold, set with the x-amz-object-lock-* headers of a
// PUT, copy or CreateMultipartUpload, or later with Put/GetObjectRetention and
// Put/GetObjectLegalHold. The metadata store refuses to delete a locked version
// (MetaStore::DeleteVersion); these handlers keep a retention from being shortened.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/http/exchange.h"
#include "server/gateway/s3/handler.h"

namespace mosaic::gateway {

// What a write asks for in x-amz-object-lock-mode, -retain-until-date and -legal-hold.
struct LockRequest {
  std::string mode;  // "" = none
  int64_t retain_until_ms = 0;
  bool legal_hold = false;
  bool legal_hold_set = false;  // x-amz-object-lock-legal-hold was sent (ON or OFF)
  bool any = false;             // some lock header was sent
};

// Parses the lock headers of a write. InvalidArgument for a mode or date that is malformed,
// one without the other, or a date in the past; InvalidRequest when the bucket has no
// Object Lock, or (`needs_integrity`: PutObject) when neither Content-MD5 nor a checksum
// header protects the body.
[[nodiscard]] absl::StatusOr<LockRequest> LockFromHeaders(const RequestView& request,
                                                          const v1::BucketRecord& bucket,
                                                          bool needs_integrity);
void ApplyLock(const LockRequest& lock, v1::ObjectRecord& record);

// The configuration documents S3 takes only with an integrity check
// (PutObjectLockConfiguration, PutBucketLifecycleConfiguration): InvalidRequest ("Missing
// required header for this request: Content-MD5 OR x-amz-checksum-*") when the request has
// neither Content-MD5 nor an x-amz-checksum-* header; ReadWholeBody verifies the one it has.
[[nodiscard]] absl::Status RequireIntegrityHeader(const RequestView& request);

// x-amz-object-lock-mode, -retain-until-date and -legal-hold of a version (GET, HEAD).
void SetLockHeaders(Exchange& ex, const v1::ObjectRecord& record);

// RFC 3339 dates as S3 writes them ("2030-01-02T03:04:05.000Z"); -1 if malformed.
int64_t ParseIsoDate(std::string_view text);

}  // namespace mosaic::gateway
