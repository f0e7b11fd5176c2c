#pragma once
// The S3 error table: every S3 error code the gateway answers, its HTTP status and default
// message. Errors travel through the gateway as absl::Status values carrying the S3 code as
// a payload (S3Error below), converted to S3 XML only at the HTTP edge. A plain absl::Status
// without the payload maps by its canonical code (NOT_FOUND -> NoSuchKey is NOT assumed:
// INTERNAL, UNAVAILABLE -> ServiceUnavailable, RESOURCE_EXHAUSTED -> SlowDown, …).

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace mosaic::gateway {

enum class S3Code {
  kAccessDenied,
  kBadDigest,
  kBucketAlreadyExists,
  kBucketAlreadyOwnedByYou,
  kBucketNotEmpty,
  kEntityTooLarge,
  kEntityTooSmall,
  kIncompleteBody,
  kInternalError,
  kInvalidAccessKeyId,
  kInvalidArgument,
  kInvalidBucketName,
  kInvalidDigest,
  kInvalidPart,
  kInvalidPartOrder,
  kInvalidRange,
  kInvalidRequest,
  kKeyTooLongError,
  kMalformedXML,
  kMetadataTooLarge,
  kMethodNotAllowed,
  kMissingContentLength,
  kNoSuchBucket,
  kNoSuchKey,
  kNoSuchUpload,
  kNotImplemented,
  kPreconditionFailed,
  kNotModified,  // not an error in S3's sense: 304 without a body
  kRequestHeaderSectionTooLarge,
  kRequestTimeout,
  kRequestTimeTooSkewed,
  kServiceUnavailable,
  kSignatureDoesNotMatch,
  kSlowDown,
  kAuthorizationHeaderMalformed,
  kAuthorizationQueryParametersError,
  kExpiredToken,
  kXAmzContentSHA256Mismatch,
  kInvalidObjectState,
  kInvalidTag,
  kConditionalRequestConflict,
  kMissingRequestBodyError,
  kInvalidPartNumber,
  kInvalidStorageClass,
  kInvalidLocationConstraint,
  kNoSuchVersion,
  kInvalidBucketState,
  kObjectLockConfigurationNotFoundError,
  kNoSuchObjectLockConfiguration,
  kInvalidRetentionPeriod,
  kNoSuchLifecycleConfiguration,
  // Not AWS's (AWS has no bucket quotas): Ceph RGW's answer to a write over a bucket quota,
  // 403 QuotaExceeded (MetaStore's quota error, meta/tables/usage.h).
  kQuotaExceeded,
  kAccessControlListNotSupported,
  kInvalidBucketAclWithObjectOwnership,
  kInvalidRedirectLocation,
};

struct S3ErrorInfo {
  const char* code;     // "NoSuchKey"
  int http_status;      // 404
  const char* message;  // default message
};

const S3ErrorInfo& InfoOf(S3Code code);

// A status carrying `code` (and its canonical absl code); `message` defaults to the table's.
absl::Status S3Error(S3Code code, std::string message = "");

// More elements of the error document, after Message, for the codes whose documentation
// names some (InvalidRange: RangeRequested and ActualObjectSize). Returns `status` with them.
absl::Status WithErrorDetail(absl::Status status, std::string_view element, std::string_view value);
// Those elements, in the order they were added.
std::vector<std::pair<std::string, std::string>> ErrorDetails(const absl::Status& status);

// Whether the status was made by S3Error (carries an S3 code of its own).
bool IsS3Error(const absl::Status& status);

// The S3 code of a status: its payload if it has one, else mapped from its canonical code.
// OK is not an error (CHECKed).
S3Code CodeOf(const absl::Status& status);

}  // namespace mosaic::gateway
