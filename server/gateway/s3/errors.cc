#include "server/gateway/s3/errors.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/check.h"
#include "server/gateway/meta/quota_error.h"

namespace mosaic::gateway {
namespace {

constexpr char kPayloadUrl[] = "mosaic/s3-code";
// Error-document elements: "Name\0value\0" repeated.
constexpr char kDetailUrl[] = "mosaic/s3-detail";

const S3ErrorInfo kTable[] = {
    {"AccessDenied", 403, "Access Denied"},
    {"BadDigest", 400, "The Content-MD5 or checksum you specified did not match what we received."},
    {"BucketAlreadyExists", 409, "The requested bucket name is not available."},
    {"BucketAlreadyOwnedByYou", 409,
     "Your previous request to create the named bucket succeeded and you already own it."},
    {"BucketNotEmpty", 409, "The bucket you tried to delete is not empty."},
    {"EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed object size."},
    {"EntityTooSmall", 400,
     "Your proposed upload is smaller than the minimum allowed object size."},
    {"IncompleteBody", 400,
     "You did not provide the number of bytes specified by the Content-Length HTTP header."},
    {"InternalError", 500, "We encountered an internal error. Please try again."},
    {"InvalidAccessKeyId", 403,
     "The AWS access key Id you provided does not exist in our records."},
    {"InvalidArgument", 400, "Invalid Argument"},
    {"InvalidBucketName", 400, "The specified bucket is not valid."},
    {"InvalidDigest", 400, "The Content-MD5 you specified is not valid."},
    {"InvalidPart", 400, "One or more of the specified parts could not be found."},
    {"InvalidPartOrder", 400, "The list of parts was not in ascending order."},
    {"InvalidRange", 416, "The requested range is not satisfiable"},
    {"InvalidRequest", 400, "Invalid Request"},
    {"KeyTooLongError", 400, "Your key is too long"},
    {"MalformedXML", 400,
     "The XML you provided was not well-formed or did not validate against our published schema."},
    {"MetadataTooLarge", 400, "Your metadata headers exceed the maximum allowed metadata size."},
    {"MethodNotAllowed", 405, "The specified method is not allowed against this resource."},
    {"MissingContentLength", 411, "You must provide the Content-Length HTTP header."},
    {"NoSuchBucket", 404, "The specified bucket does not exist"},
    {"NoSuchKey", 404, "The specified key does not exist."},
    {"NoSuchUpload", 404, "The specified multipart upload does not exist."},
    {"NotImplemented", 501, "A header you provided implies functionality that is not implemented"},
    {"PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold"},
    {"NotModified", 304, "Not Modified"},
    {"RequestHeaderSectionTooLarge", 400,
     "Your request header section exceeds the maximum allowed size."},
    {"RequestTimeout", 400,
     "Your socket connection to the server was not read from or written to within the timeout "
     "period."},
    {"RequestTimeTooSkewed", 403,
     "The difference between the request time and the server's time is too large."},
    {"ServiceUnavailable", 503, "Please reduce your request rate."},
    {"SignatureDoesNotMatch", 403,
     "The request signature we calculated does not match the signature you provided. Check your "
     "key and signing method."},
    {"SlowDown", 503, "Please reduce your request rate."},
    {"AuthorizationHeaderMalformed", 400, "The authorization header you provided is invalid."},
    {"AuthorizationQueryParametersError", 400,
     "Query-string authentication requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, "
     "X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."},
    {"ExpiredToken", 400, "The provided token has expired."},
    {"XAmzContentSHA256Mismatch", 400,
     "The provided 'x-amz-content-sha256' header does not match what was computed."},
    {"InvalidObjectState", 403, "The operation is not valid for the current state of the object."},
    {"InvalidTag", 400, "The tag provided was not a valid tag."},
    {"ConditionalRequestConflict", 409,
     "A conflicting operation occurred. If using PutObject you can retry the request."},
    {"MissingRequestBodyError", 400, "Request Body is empty"},
    {"InvalidPartNumber", 416, "The requested partnumber is not satisfiable"},
    {"InvalidStorageClass", 400, "The storage class you specified is not valid"},
    {"InvalidLocationConstraint", 400, "The specified location constraint is not valid."},
    {"NoSuchVersion", 404,
     "The version ID specified in the request does not match an existing version."},
    {"InvalidBucketState", 409, "The request is not valid with the current state of the bucket."},
    {"ObjectLockConfigurationNotFoundError", 404,
     "Object Lock configuration does not exist for this bucket"},
    {"NoSuchObjectLockConfiguration", 404,
     "The specified object does not have a ObjectLock configuration"},
    {"InvalidRetentionPeriod", 400, "The retention period specified is not valid."},
    {"NoSuchLifecycleConfiguration", 404, "The lifecycle configuration does not exist."},
    {"QuotaExceeded", 403, "The bucket's quota does not allow this write."},
    {"AccessControlListNotSupported", 400, "The bucket does not allow ACLs"},
    {"InvalidBucketAclWithObjectOwnership", 400,
     "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting"},
    {"InvalidRedirectLocation", 400,
     "The website redirect location must have a prefix of 'http://' or 'https://' or '/'."},
};

absl::StatusCode CanonicalFor(int http_status) {
  switch (http_status) {
    case 304:
    case 412:
      return absl::StatusCode::kFailedPrecondition;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kNotFound;
    case 409:
      return absl::StatusCode::kAlreadyExists;
    case 416:
      return absl::StatusCode::kOutOfRange;
    case 501:
      return absl::StatusCode::kUnimplemented;
    case 503:
      return absl::StatusCode::kUnavailable;
    case 500:
      return absl::StatusCode::kInternal;
    default:
      return absl::StatusCode::kInvalidArgument;
  }
}

static_assert(sizeof(kTable) / sizeof(kTable[0]) ==
                  static_cast<size_t>(S3Code::kInvalidRedirectLocation) + 1,
              "one table row per S3Code, in order");

}  // namespace

const S3ErrorInfo& InfoOf(S3Code code) {
  size_t i = static_cast<size_t>(code);
  CHECK(i < sizeof(kTable) / sizeof(kTable[0]));
  return kTable[i];
}

absl::Status S3Error(S3Code code, std::string message) {
  const S3ErrorInfo& info = InfoOf(code);
  absl::Status s(CanonicalFor(info.http_status), message.empty() ? info.message : message);
  s.SetPayload(kPayloadUrl, absl::Cord(std::to_string(static_cast<int>(code))));
  return s;
}

absl::Status WithErrorDetail(absl::Status status, std::string_view element,
                             std::string_view value) {
  absl::Cord details = status.GetPayload(kDetailUrl).value_or(absl::Cord());
  details.Append(std::string(element) + '\0' + std::string(value) + '\0');
  status.SetPayload(kDetailUrl, std::move(details));
  return status;
}

std::vector<std::pair<std::string, std::string>> ErrorDetails(const absl::Status& status) {
  std::vector<std::pair<std::string, std::string>> out;
  auto payload = status.GetPayload(kDetailUrl);
  if (!payload) return out;
  std::vector<std::string> fields = absl::StrSplit(std::string(*payload), '\0');
  for (size_t i = 0; i + 1 < fields.size(); i += 2) out.emplace_back(fields[i], fields[i + 1]);
  return out;
}

bool IsS3Error(const absl::Status& status) { return status.GetPayload(kPayloadUrl).has_value(); }

S3Code CodeOf(const absl::Status& status) {
  CHECK(!status.ok());
  if (auto payload = status.GetPayload(kPayloadUrl)) {
    // Only S3Error writes this payload; anything else in it is a bug, not a reason to crash
    // (std::stoi would throw) or to index past the table.
    int code = -1;
    if (!absl::SimpleAtoi(std::string(*payload), &code) || code < 0 ||
        code >= static_cast<int>(sizeof(kTable) / sizeof(kTable[0]))) {
      return S3Code::kInternalError;
    }
    return static_cast<S3Code>(code);
  }
  if (meta::IsQuotaExceeded(status)) return S3Code::kQuotaExceeded;
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return S3Code::kServiceUnavailable;
    case absl::StatusCode::kResourceExhausted:
      return S3Code::kSlowDown;
    case absl::StatusCode::kInvalidArgument:
      return S3Code::kInvalidArgument;
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
      return S3Code::kAccessDenied;
    case absl::StatusCode::kUnimplemented:
      return S3Code::kNotImplemented;
    default:
      return S3Code::kInternalError;
  }
}

}  // namespace mosaic::gateway
