#include "server/gateway/s3/errors.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace mosaic::gateway {
namespace {

constexpr int kCodes = static_cast<int>(S3Code::kInvalidLocationConstraint) + 1;

TEST(S3ErrorsTest, EveryCodeHasANameStatusAndMessage) {
  std::set<std::string> names;
  const std::set<int> statuses = {304, 400, 403, 404, 405, 409, 411, 412, 416, 500, 501, 503};
  for (int i = 0; i < kCodes; ++i) {
    const S3ErrorInfo& info = InfoOf(static_cast<S3Code>(i));
    ASSERT_NE(info.code, nullptr) << i;
    ASSERT_NE(info.message, nullptr) << i;
    EXPECT_FALSE(std::string(info.code).empty()) << i;
    EXPECT_FALSE(std::string(info.message).empty()) << info.code;
    EXPECT_TRUE(statuses.contains(info.http_status)) << info.code << " " << info.http_status;
    EXPECT_TRUE(names.insert(info.code).second) << "duplicate " << info.code;
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(kCodes));
}

TEST(S3ErrorsTest, WellKnownRows) {
  struct Row {
    S3Code code;
    const char* name;
    int status;
  } rows[] = {
      {S3Code::kAccessDenied, "AccessDenied", 403},
      {S3Code::kBadDigest, "BadDigest", 400},
      {S3Code::kBucketAlreadyOwnedByYou, "BucketAlreadyOwnedByYou", 409},
      {S3Code::kBucketNotEmpty, "BucketNotEmpty", 409},
      {S3Code::kEntityTooLarge, "EntityTooLarge", 400},
      {S3Code::kInternalError, "InternalError", 500},
      {S3Code::kInvalidAccessKeyId, "InvalidAccessKeyId", 403},
      {S3Code::kInvalidBucketName, "InvalidBucketName", 400},
      {S3Code::kInvalidRange, "InvalidRange", 416},
      {S3Code::kKeyTooLongError, "KeyTooLongError", 400},
      {S3Code::kMalformedXML, "MalformedXML", 400},
      {S3Code::kMethodNotAllowed, "MethodNotAllowed", 405},
      {S3Code::kMissingContentLength, "MissingContentLength", 411},
      {S3Code::kNoSuchBucket, "NoSuchBucket", 404},
      {S3Code::kNoSuchKey, "NoSuchKey", 404},
      {S3Code::kNotImplemented, "NotImplemented", 501},
      {S3Code::kNotModified, "NotModified", 304},
      {S3Code::kPreconditionFailed, "PreconditionFailed", 412},
      {S3Code::kRequestTimeTooSkewed, "RequestTimeTooSkewed", 403},
      {S3Code::kServiceUnavailable, "ServiceUnavailable", 503},
      {S3Code::kSignatureDoesNotMatch, "SignatureDoesNotMatch", 403},
      {S3Code::kSlowDown, "SlowDown", 503},
      {S3Code::kInvalidObjectState, "InvalidObjectState", 403},
      {S3Code::kInvalidPartNumber, "InvalidPartNumber", 416},
      {S3Code::kInvalidStorageClass, "InvalidStorageClass", 400},
      {S3Code::kInvalidLocationConstraint, "InvalidLocationConstraint", 400},
  };
  for (const Row& r : rows) {
    EXPECT_STREQ(InfoOf(r.code).code, r.name);
    EXPECT_EQ(InfoOf(r.code).http_status, r.status) << r.name;
  }
}

TEST(S3ErrorsTest, S3ErrorCarriesItsCodeAndMessage) {
  for (int i = 0; i < kCodes; ++i) {
    S3Code code = static_cast<S3Code>(i);
    absl::Status s = S3Error(code);
    ASSERT_FALSE(s.ok()) << InfoOf(code).code;
    EXPECT_EQ(CodeOf(s), code) << InfoOf(code).code;
    EXPECT_EQ(s.message(), InfoOf(code).message);
    absl::Status custom = S3Error(code, "custom words");
    EXPECT_EQ(CodeOf(custom), code);
    EXPECT_EQ(custom.message(), "custom words");
  }
}

TEST(S3ErrorsTest, CanonicalCodesFollowTheHttpStatus) {
  EXPECT_EQ(S3Error(S3Code::kNoSuchKey).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(S3Error(S3Code::kAccessDenied).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(S3Error(S3Code::kBucketNotEmpty).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(S3Error(S3Code::kPreconditionFailed).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(S3Error(S3Code::kNotModified).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(S3Error(S3Code::kInvalidRange).code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(S3Error(S3Code::kNotImplemented).code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(S3Error(S3Code::kSlowDown).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(S3Error(S3Code::kInternalError).code(), absl::StatusCode::kInternal);
  EXPECT_EQ(S3Error(S3Code::kBadDigest).code(), absl::StatusCode::kInvalidArgument);
}

TEST(S3ErrorsTest, CodeOfPlainStatuses) {
  EXPECT_EQ(CodeOf(absl::UnavailableError("x")), S3Code::kServiceUnavailable);
  EXPECT_EQ(CodeOf(absl::DeadlineExceededError("x")), S3Code::kServiceUnavailable);
  EXPECT_EQ(CodeOf(absl::ResourceExhaustedError("x")), S3Code::kSlowDown);
  EXPECT_EQ(CodeOf(absl::InvalidArgumentError("x")), S3Code::kInvalidArgument);
  EXPECT_EQ(CodeOf(absl::PermissionDeniedError("x")), S3Code::kAccessDenied);
  EXPECT_EQ(CodeOf(absl::UnauthenticatedError("x")), S3Code::kAccessDenied);
  EXPECT_EQ(CodeOf(absl::UnimplementedError("x")), S3Code::kNotImplemented);
  // NOT_FOUND has no S3 meaning without knowing what was missing: a bug if it gets here.
  EXPECT_EQ(CodeOf(absl::NotFoundError("x")), S3Code::kInternalError);
  EXPECT_EQ(CodeOf(absl::DataLossError("x")), S3Code::kInternalError);
  EXPECT_EQ(CodeOf(absl::InternalError("x")), S3Code::kInternalError);
  EXPECT_EQ(CodeOf(absl::FailedPreconditionError("x")), S3Code::kInternalError);
  EXPECT_EQ(CodeOf(absl::UnknownError("x")), S3Code::kInternalError);
}

TEST(S3ErrorsTest, AForeignPayloadIsAnInternalErrorNotACrash) {
  for (const char* payload : {"", "abc", "-1", "999", "99999999999999999999"}) {
    absl::Status s = absl::NotFoundError("x");
    s.SetPayload("mosaic/s3-code", absl::Cord(payload));
    EXPECT_EQ(CodeOf(s), S3Code::kInternalError) << payload;
  }
}

TEST(S3ErrorsTest, PayloadSurvivesAnnotationByCopy) {
  absl::Status s = S3Error(S3Code::kNoSuchBucket, "no bucket photos");
  absl::Status copy = s;
  EXPECT_EQ(CodeOf(copy), S3Code::kNoSuchBucket);
}

}  // namespace
}  // namespace mosaic::gateway
