// SigV4 against the worked examples of AWS's S3 documentation ("Signature Calculations for
// the Authorization Header: Transferring Payload in a Single Chunk", "Authenticating Requests:
// Using Query Parameters", the chunked upload and trailing header pages), then tamper, time
// and malformed-input cases.

#include "server/gateway/s3/sigv4.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/gateway/s3/errors.h"

namespace mosaic::gateway {
namespace {

using std::chrono::system_clock;

constexpr char kAccessKey[] = "AKIAIOSFODNN7EXAMPLE";
constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr char kDate[] = "20130524T000000Z";
constexpr char kScope[] = "20130524/us-east-1/s3/aws4_request";
constexpr char kEmptySha[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr char kHost[] = "examplebucket.s3.amazonaws.com";

system_clock::time_point ExampleTime() { return *ParseAmzDate(kDate); }

SecretLookup Secrets() {
  return [](const std::string& id) -> absl::StatusOr<std::string> {
    if (id == kAccessKey) return std::string(kSecret);
    return absl::NotFoundError("no such key");
  };
}

std::string Authorization(std::string_view signed_headers, std::string_view signature) {
  return "AWS4-HMAC-SHA256 Credential=" + std::string(kAccessKey) + "/" + kScope +
         ",SignedHeaders=" + std::string(signed_headers) + ",Signature=" + std::string(signature);
}

// An AWS example: the request, its canonical request and string to sign, and the signature.
struct Example {
  RequestView request;
  std::vector<std::string> signed_headers;
  std::string payload_hash;
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;
};

void ExpectExample(Example e) {
  absl::StatusOr<std::string> canonical =
      CanonicalRequest(e.request, e.request.RawPath(), e.signed_headers, e.payload_hash, false);
  ASSERT_TRUE(canonical.ok()) << canonical.status();
  EXPECT_EQ(*canonical, e.canonical_request);
  std::string sts = StringToSign(kDate, kScope, *canonical);
  EXPECT_EQ(sts, e.string_to_sign);
  auto key = DeriveSigningKey(kSecret, "20130524", "us-east-1", "s3");
  EXPECT_EQ(HmacSha256Hex(key, sts), e.signature);

  std::string list;
  for (const auto& h : e.signed_headers) list += (list.empty() ? "" : ";") + h;
  e.request.headers.emplace_back("authorization", Authorization(list, e.signature));
  absl::StatusOr<AuthResult> auth = VerifyRequest(e.request, Secrets(), ExampleTime(), "us-east-1");
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_EQ(auth->access_key_id, kAccessKey);
  EXPECT_FALSE(auth->presigned);
  EXPECT_EQ(auth->payload_mode, PayloadMode::kSigned);
  EXPECT_EQ(auth->payload_sha256_hex, e.payload_hash);
}

Example GetObjectExample() {
  return Example{
      RequestView{"GET",
                  "/test.txt",
                  {{"host", kHost},
                   {"range", "bytes=0-9"},
                   {"x-amz-content-sha256", kEmptySha},
                   {"x-amz-date", kDate}}},
      {"host", "range", "x-amz-content-sha256", "x-amz-date"},
      kEmptySha,
      "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
      "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
      "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
      "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
      "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"};
}

TEST(SigV4ExampleTest, GetObjectWithRange) { ExpectExample(GetObjectExample()); }

TEST(SigV4ExampleTest, PutObject) {
  constexpr char kBodySha[] = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072";
  ExpectExample(Example{
      RequestView{"PUT",
                  "/test%24file.text",
                  {{"host", kHost},
                   {"date", "Fri, 24 May 2013 00:00:00 GMT"},
                   {"x-amz-date", kDate},
                   {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                   {"x-amz-content-sha256", kBodySha}}},
      {"date", "host", "x-amz-content-sha256", "x-amz-date", "x-amz-storage-class"},
      kBodySha,
      "PUT\n/test%24file.text\n\ndate:Fri, 24 May 2013 00:00:00 GMT\n"
      "host:examplebucket.s3.amazonaws.com\n"
      "x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\n"
      "x-amz-date:20130524T000000Z\nx-amz-storage-class:REDUCED_REDUNDANCY\n\n"
      "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n"
      "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
      "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
      "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d",
      "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"});
}

TEST(SigV4ExampleTest, GetBucketLifecycle) {
  ExpectExample(Example{
      RequestView{"GET",
                  "/?lifecycle",
                  {{"host", kHost}, {"x-amz-date", kDate}, {"x-amz-content-sha256", kEmptySha}}},
      {"host", "x-amz-content-sha256", "x-amz-date"},
      kEmptySha,
      "GET\n/\nlifecycle=\nhost:examplebucket.s3.amazonaws.com\n"
      "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
      "x-amz-date:20130524T000000Z\n\nhost;x-amz-content-sha256;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
      "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca",
      "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"});
}

TEST(SigV4ExampleTest, ListObjects) {
  ExpectExample(Example{
      RequestView{"GET",
                  "/?prefix=J&max-keys=2",
                  {{"host", kHost}, {"x-amz-date", kDate}, {"x-amz-content-sha256", kEmptySha}}},
      {"host", "x-amz-content-sha256", "x-amz-date"},
      kEmptySha,
      "GET\n/\nmax-keys=2&prefix=J\nhost:examplebucket.s3.amazonaws.com\n"
      "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
      "x-amz-date:20130524T000000Z\n\nhost;x-amz-content-sha256;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
      "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7",
      "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"});
}

constexpr char kPresignedQuery[] =
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2F"
    "us-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&"
    "X-Amz-SignedHeaders=host";
constexpr char kPresignedSignature[] =
    "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";

RequestView PresignedGet() {
  return RequestView{
      "GET",
      std::string("/test.txt?") + kPresignedQuery + "&X-Amz-Signature=" + kPresignedSignature,
      {{"host", kHost}}};
}

TEST(SigV4ExampleTest, PresignedGetObject) {
  RequestView request = PresignedGet();
  absl::StatusOr<std::string> canonical =
      CanonicalRequest(request, "/test.txt", {"host"}, "UNSIGNED-PAYLOAD", true);
  ASSERT_TRUE(canonical.ok());
  EXPECT_EQ(*canonical, "GET\n/test.txt\n" + std::string(kPresignedQuery) +
                            "\nhost:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD");
  EXPECT_EQ(StringToSign(kDate, kScope, *canonical),
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04");
  absl::StatusOr<AuthResult> auth =
      VerifyRequest(request, Secrets(), ExampleTime() + std::chrono::hours(23), "us-east-1");
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_TRUE(auth->presigned);
  EXPECT_EQ(auth->payload_mode, PayloadMode::kUnsigned);
  EXPECT_EQ(auth->access_key_id, kAccessKey);
}

TEST(SigV4ExampleTest, PresignedExpiresAfterItsLifetime) {
  absl::Status s = VerifyRequest(PresignedGet(), Secrets(),
                                 ExampleTime() + std::chrono::seconds(86401), "us-east-1")
                       .status();
  EXPECT_EQ(CodeOf(s), S3Code::kAccessDenied);
  EXPECT_EQ(s.message(), "Request has expired");
  // Exactly at the end of its lifetime it is still valid.
  EXPECT_TRUE(VerifyRequest(PresignedGet(), Secrets(), ExampleTime() + std::chrono::seconds(86400),
                            "us-east-1")
                  .ok());
}

TEST(SigV4ExampleTest, PresignedFromTheFutureIsRejected) {
  absl::Status s =
      VerifyRequest(PresignedGet(), Secrets(), ExampleTime() - std::chrono::hours(1), "us-east-1")
          .status();
  EXPECT_EQ(CodeOf(s), S3Code::kAccessDenied);
}

TEST(SigV4ExampleTest, ChunkedUploadSeedAndChunkSignatures) {
  RequestView request{"PUT",
                      "/examplebucket/chunkObject.txt",
                      {{"host", "s3.amazonaws.com"},
                       {"x-amz-date", kDate},
                       {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                       {"x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"},
                       {"content-encoding", "aws-chunked"},
                       {"x-amz-decoded-content-length", "66560"},
                       {"content-length", "66824"}}};
  std::vector<std::string> signed_headers = {
      "content-encoding",     "content-length", "host",
      "x-amz-content-sha256", "x-amz-date",     "x-amz-decoded-content-length",
      "x-amz-storage-class"};
  absl::StatusOr<std::string> canonical = CanonicalRequest(
      request, request.RawPath(), signed_headers, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", false);
  ASSERT_TRUE(canonical.ok());
  EXPECT_EQ(*canonical,
            "PUT\n/examplebucket/chunkObject.txt\n\ncontent-encoding:aws-chunked\n"
            "content-length:66824\nhost:s3.amazonaws.com\n"
            "x-amz-content-sha256:STREAMING-AWS4-HMAC-SHA256-PAYLOAD\n"
            "x-amz-date:20130524T000000Z\nx-amz-decoded-content-length:66560\n"
            "x-amz-storage-class:REDUCED_REDUNDANCY\n\n"
            "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
            "x-amz-decoded-content-length;x-amz-storage-class\n"
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
  EXPECT_EQ(StringToSign(kDate, kScope, *canonical),
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "cee3fed04b70f867d036f722359b0b1f2f0e5dc0efadbc082b76c4c60e316455");
  constexpr char kSeed[] = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
  request.headers.emplace_back(
      "authorization",
      Authorization("content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
                    "x-amz-decoded-content-length;x-amz-storage-class",
                    kSeed));
  absl::StatusOr<AuthResult> auth = VerifyRequest(request, Secrets(), ExampleTime(), "us-east-1");
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_EQ(auth->payload_mode, PayloadMode::kStreamingSigned);
  EXPECT_EQ(auth->decoded_content_length, 66560u);
  const ChunkSigningContext& ctx = auth->chunk_signing;
  EXPECT_EQ(ctx.seed_signature, kSeed);
  EXPECT_EQ(ctx.scope, kScope);
  EXPECT_EQ(ctx.request_datetime, kDate);
  // SHA-256 of 65536 'a', of 1024 'a', and of nothing.
  std::string c1 = ChunkSignature(
      ctx, kSeed, "bf718b6f653bebc184e1479f1935b8da974d701b893afcf49e701f3e2f9f9c5a");
  EXPECT_EQ(c1, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648");
  std::string c2 =
      ChunkSignature(ctx, c1, "2edc986847e209b4016e141a6dc8716d3207350f416969382d431539bf292e4a");
  EXPECT_EQ(c2, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497");
  EXPECT_EQ(ChunkSignature(ctx, c2, kEmptySha),
            "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9");
}

TEST(SigV4ExampleTest, TrailingHeaderSeedAndTrailerSignature) {
  RequestView request{"PUT",
                      "/examplebucket/chunkObject.txt",
                      {{"host", "s3.amazonaws.com"},
                       {"x-amz-date", kDate},
                       {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                       {"x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"},
                       {"content-encoding", "aws-chunked"},
                       {"x-amz-decoded-content-length", "66560"},
                       {"x-amz-trailer", "x-amz-checksum-crc32c"}}};
  constexpr char kSeed[] = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e";
  request.headers.emplace_back(
      "authorization",
      Authorization("content-encoding;host;x-amz-content-sha256;x-amz-date;"
                    "x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer",
                    kSeed));
  absl::StatusOr<AuthResult> auth = VerifyRequest(request, Secrets(), ExampleTime(), "us-east-1");
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_EQ(auth->payload_mode, PayloadMode::kStreamingSignedTrailer);
  EXPECT_THAT(auth->trailer_names, testing::ElementsAre("x-amz-checksum-crc32c"));
  EXPECT_EQ(TrailerSignature(auth->chunk_signing,
                             "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
                             "x-amz-checksum-crc32c:sOO8/Q==\n"),
            "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435");
}

// ---- Tampering: any change to what was signed fails. ----

RequestView SignedGetObject() {
  Example e = GetObjectExample();
  e.request.headers.emplace_back(
      "authorization", Authorization("host;range;x-amz-content-sha256;x-amz-date", e.signature));
  return e.request;
}

S3Code VerifyCode(const RequestView& r, system_clock::time_point now = ExampleTime(),
                  std::string_view region = "us-east-1") {
  absl::StatusOr<AuthResult> auth = VerifyRequest(r, Secrets(), now, region);
  return auth.ok() ? S3Code::kInternalError : CodeOf(auth.status());
}

void SetHeader(RequestView& r, std::string_view name, std::string value) {
  for (auto& [n, v] : r.headers) {
    if (n == name) v = std::move(value);
  }
}

TEST(SigV4TamperTest, UntamperedRequestVerifies) {
  EXPECT_TRUE(VerifyRequest(SignedGetObject(), Secrets(), ExampleTime(), "us-east-1").ok());
}

TEST(SigV4TamperTest, EverySignedHeaderChangeFails) {
  for (std::string name : {"host", "range", "x-amz-content-sha256", "x-amz-date"}) {
    RequestView r = SignedGetObject();
    std::string value = name == "x-amz-date" ? "20130524T000001Z"
                        : name == "x-amz-content-sha256"
                            ? "f3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
                            : "bytes=0-8";
    SetHeader(r, name, value);
    EXPECT_EQ(VerifyCode(r), S3Code::kSignatureDoesNotMatch) << name;
  }
}

TEST(SigV4TamperTest, PathMethodAndQueryChangesFail) {
  for (std::string target : {"/test.txT", "/test.txt/", "//test.txt", "/test.txt%20", "/test.txt?a",
                             "/test.txt?versionId=1", "/"}) {
    RequestView r = SignedGetObject();
    r.target = target;
    EXPECT_EQ(VerifyCode(r), S3Code::kSignatureDoesNotMatch) << target;
  }
  RequestView r = SignedGetObject();
  r.method = "HEAD";
  EXPECT_EQ(VerifyCode(r), S3Code::kSignatureDoesNotMatch);
}

TEST(SigV4TamperTest, RepeatedSignedHeaderChangesTheValue) {
  RequestView r = SignedGetObject();
  r.headers.emplace_back("range", "bytes=100-200");
  EXPECT_EQ(VerifyCode(r), S3Code::kSignatureDoesNotMatch);
}

TEST(SigV4TamperTest, UnsignedHeadersMayChangeInHeaderAuth) {
  RequestView r = SignedGetObject();
  r.headers.emplace_back("user-agent", "anything");
  EXPECT_TRUE(VerifyRequest(r, Secrets(), ExampleTime(), "us-east-1").ok());
}

// Finding 6 of issue 18: an x-amz-* header added to a captured header-signed request (a
// replay within the skew window) would pick the operation (x-amz-copy-source) or add
// metadata or tags: every x-amz-* header must be signed.
TEST(SigV4TamperTest, HeaderAuthRejectsUnsignedAmzHeaders) {
  for (const char* name :
       {"x-amz-copy-source", "x-amz-meta-added", "x-amz-tagging", "x-amz-metadata-directive"}) {
    RequestView r = SignedGetObject();
    r.headers.emplace_back(name, "/otherbucket/secret");
    absl::Status s = VerifyRequest(r, Secrets(), ExampleTime(), "us-east-1").status();
    EXPECT_EQ(CodeOf(s), S3Code::kAccessDenied) << name;
    EXPECT_NE(s.message().find(name), std::string::npos) << s.message();
  }
}

TEST(SigV4TamperTest, EverySignatureBitMatters) {
  std::string sig = GetObjectExample().signature;
  for (size_t i = 0; i < sig.size(); i += 7) {
    std::string bad = sig;
    bad[i] = bad[i] == '0' ? '1' : '0';
    RequestView r = GetObjectExample().request;
    r.headers.emplace_back("authorization",
                           Authorization("host;range;x-amz-content-sha256;x-amz-date", bad));
    EXPECT_EQ(VerifyCode(r), S3Code::kSignatureDoesNotMatch) << i;
  }
}

TEST(SigV4TamperTest, WrongSecretFails) {
  SecretLookup wrong = [](const std::string&) -> absl::StatusOr<std::string> {
    return std::string("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEZ");
  };
  EXPECT_EQ(CodeOf(VerifyRequest(SignedGetObject(), wrong, ExampleTime(), "us-east-1").status()),
            S3Code::kSignatureDoesNotMatch);
}

TEST(SigV4TamperTest, PresignedQueryChangesFail) {
  for (std::string_view extra :
       {"&X-Amz-Expires=86400", "&response-content-type=text%2Fhtml", "&versionId="}) {
    RequestView r = PresignedGet();
    r.target += extra;
    EXPECT_EQ(VerifyCode(r, ExampleTime() + std::chrono::hours(1)), S3Code::kSignatureDoesNotMatch)
        << extra;
  }
  RequestView r = PresignedGet();
  r.target.replace(r.target.find("X-Amz-Expires=86400"), 19, "X-Amz-Expires=86401");
  EXPECT_EQ(VerifyCode(r, ExampleTime() + std::chrono::hours(1)), S3Code::kSignatureDoesNotMatch);
  r = PresignedGet();
  SetHeader(r, "host", "otherbucket.s3.amazonaws.com");
  EXPECT_EQ(VerifyCode(r, ExampleTime() + std::chrono::hours(1)), S3Code::kSignatureDoesNotMatch);
}

TEST(SigV4TamperTest, PresignedRejectsUnsignedAmzHeaders) {
  RequestView r = PresignedGet();
  r.headers.emplace_back("x-amz-copy-source", "/otherbucket/secret");
  EXPECT_EQ(VerifyCode(r, ExampleTime() + std::chrono::hours(1)), S3Code::kAccessDenied);
}

// ---- Time, identity and malformed input. ----

TEST(SigV4Test, ClockSkewOverFifteenMinutes) {
  RequestView r = SignedGetObject();
  EXPECT_TRUE(
      VerifyRequest(r, Secrets(), ExampleTime() + std::chrono::minutes(15), "us-east-1").ok());
  EXPECT_TRUE(
      VerifyRequest(r, Secrets(), ExampleTime() - std::chrono::minutes(15), "us-east-1").ok());
  EXPECT_EQ(VerifyCode(r, ExampleTime() + std::chrono::minutes(16)), S3Code::kRequestTimeTooSkewed);
  EXPECT_EQ(VerifyCode(r, ExampleTime() - std::chrono::minutes(16)), S3Code::kRequestTimeTooSkewed);
}

TEST(SigV4Test, UnknownAccessKey) {
  RequestView r = GetObjectExample().request;
  r.headers.emplace_back(
      "authorization",
      "AWS4-HMAC-SHA256 Credential=AKIANOTAKEY/20130524/us-east-1/s3/aws4_request, "
      "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=00");
  EXPECT_EQ(VerifyCode(r), S3Code::kInvalidAccessKeyId);
}

TEST(SigV4Test, LookupFailureOtherThanNotFoundPassesThrough) {
  SecretLookup down = [](const std::string&) -> absl::StatusOr<std::string> {
    return absl::UnavailableError("metadata store down");
  };
  absl::Status s = VerifyRequest(SignedGetObject(), down, ExampleTime(), "us-east-1").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
}

TEST(SigV4Test, MissingAuthenticationIsAccessDenied) {
  EXPECT_EQ(VerifyCode(GetObjectExample().request), S3Code::kAccessDenied);
}

TEST(SigV4Test, BothMechanismsAtOnceIsInvalidArgument) {
  RequestView r = PresignedGet();
  r.headers.emplace_back("authorization", Authorization("host", kPresignedSignature));
  EXPECT_EQ(VerifyCode(r), S3Code::kInvalidArgument);
}

TEST(SigV4Test, SignatureVersion2IsNotSupported) {
  RequestView r = GetObjectExample().request;
  r.headers.emplace_back("authorization", "AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=");
  EXPECT_EQ(VerifyCode(r), S3Code::kInvalidRequest);
}

TEST(SigV4Test, MalformedAuthorizationHeaders) {
  const std::string good_cred = std::string(kAccessKey) + "/" + kScope;
  for (std::string value : {
           std::string("AWS4-HMAC-SHA256"),
           std::string("AWS4-HMAC-SHA256 "),
           "AWS4-HMAC-SHA256 Credential=" + good_cred + ",SignedHeaders=host",
           "AWS4-HMAC-SHA256 Credential=" + good_cred + ",Signature=00",
           "AWS4-HMAC-SHA256 Credential=" + good_cred + ",SignedHeaders=host,Signature=0,Foo=1",
           "AWS4-HMAC-SHA256 Credential=" + good_cred +
               ",SignedHeaders=host,SignedHeaders=host,Signature=0",
           std::string("AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3,SignedHeaders="
                       "host,Signature=0"),
           std::string("AWS4-HMAC-SHA256 Credential=AKID/2013052/us-east-1/s3/aws4_request,"
                       "SignedHeaders=host,Signature=0"),
           std::string("AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws5_request,"
                       "SignedHeaders=host,Signature=0"),
           "AWS4-HMAC-SHA256 Credential=" + good_cred + ",SignedHeaders=range,Signature=0",
           "AWS4-HMAC-SHA256 Credential=" + good_cred + ",SignedHeaders=host;;range,Signature=0",
           "AWS4-HMAC-SHA256 Credential=" + good_cred + ",SignedHeaders=Host,Signature=0",
           std::string("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130525/us-east-1/s3/"
                       "aws4_request,SignedHeaders=host,Signature=0"),
           std::string("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/eu-west-1/s3/"
                       "aws4_request,SignedHeaders=host,Signature=0"),
           std::string("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/"
                       "ec2/aws4_request,SignedHeaders=host,Signature=0"),
       }) {
    RequestView r = GetObjectExample().request;
    r.headers.emplace_back("authorization", value);
    EXPECT_EQ(VerifyCode(r), S3Code::kAuthorizationHeaderMalformed) << value;
  }
  RequestView r = GetObjectExample().request;
  r.headers.emplace_back("authorization", "Bearer abc");
  EXPECT_EQ(VerifyCode(r), S3Code::kInvalidArgument);
}

TEST(SigV4Test, EmptyRegionAcceptsAnyRegion) {
  EXPECT_TRUE(VerifyRequest(SignedGetObject(), Secrets(), ExampleTime(), "").ok());
  EXPECT_EQ(VerifyCode(SignedGetObject(), ExampleTime(), "eu-west-1"),
            S3Code::kAuthorizationHeaderMalformed);
}

TEST(SigV4Test, MissingOrBadDateIsAccessDenied) {
  for (std::string date : {"", "2013-05-24T00:00:00Z", "20130524T250000Z", "20130230T000000Z"}) {
    RequestView r = SignedGetObject();
    SetHeader(r, "x-amz-date", date);
    EXPECT_EQ(VerifyCode(r), S3Code::kAccessDenied) << date;
  }
}

TEST(SigV4Test, DateHeaderServesWhenXAmzDateIsAbsent) {
  // The GET example re-signed without x-amz-date: the Date header gives the timestamp.
  RequestView r{"GET",
                "/test.txt",
                {{"host", kHost},
                 {"date", "Fri, 24 May 2013 00:00:00 GMT"},
                 {"x-amz-content-sha256", kEmptySha}}};
  std::vector<std::string> signed_headers = {"date", "host", "x-amz-content-sha256"};
  auto canonical = CanonicalRequest(r, "/test.txt", signed_headers, kEmptySha, false);
  ASSERT_TRUE(canonical.ok());
  auto key = DeriveSigningKey(kSecret, "20130524", "us-east-1", "s3");
  std::string sig = HmacSha256Hex(key, StringToSign(kDate, kScope, *canonical));
  r.headers.emplace_back("authorization", Authorization("date;host;x-amz-content-sha256", sig));
  EXPECT_TRUE(VerifyRequest(r, Secrets(), ExampleTime(), "us-east-1").ok());
}

TEST(SigV4Test, BadContentSha256IsInvalidArgument) {
  RequestView r = SignedGetObject();
  SetHeader(r, "x-amz-content-sha256", "abc");
  EXPECT_EQ(VerifyCode(r), S3Code::kInvalidArgument);
}

TEST(SigV4Test, PresignedParameterErrors) {
  auto with = [](std::string_view from, std::string_view to) {
    RequestView r = PresignedGet();
    size_t at = r.target.find(from);
    EXPECT_NE(at, std::string::npos);
    r.target.replace(at, from.size(), to);
    return r;
  };
  for (const auto& r :
       {with("X-Amz-Expires=86400", "X-Amz-Expires=604801"),
        with("X-Amz-Expires=86400", "X-Amz-Expires=-1"),
        with("X-Amz-Expires=86400", "X-Amz-Expires=1e5"), with("X-Amz-Expires=86400&", ""),
        with("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=range"),
        with("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA512"),
        with("X-Amz-Date=20130524T000000Z", "X-Amz-Date=20130524"),
        with("%2Faws4_request", "%2Faws4_requests")}) {
    EXPECT_EQ(VerifyCode(r, ExampleTime() + std::chrono::hours(1)),
              S3Code::kAuthorizationQueryParametersError)
        << r.target;
  }
}

TEST(SigV4Test, PresignedSevenDaysIsAllowed) {
  // Re-sign the example with the maximum lifetime.
  std::string query =
      "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2F"
      "us-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=604800&"
      "X-Amz-SignedHeaders=host";
  RequestView r{"GET", "/test.txt?" + query, {{"host", kHost}}};
  auto canonical = CanonicalRequest(r, "/test.txt", {"host"}, "UNSIGNED-PAYLOAD", true);
  ASSERT_TRUE(canonical.ok());
  auto key = DeriveSigningKey(kSecret, "20130524", "us-east-1", "s3");
  r.target += "&X-Amz-Signature=" + HmacSha256Hex(key, StringToSign(kDate, kScope, *canonical));
  EXPECT_TRUE(VerifyRequest(r, Secrets(), ExampleTime() + std::chrono::hours(24 * 7), "").ok());
  EXPECT_EQ(VerifyCode(r, ExampleTime() + std::chrono::hours(24 * 7) + std::chrono::seconds(1)),
            S3Code::kAccessDenied);
}

TEST(SigV4Test, StreamingWithoutDecodedLengthIsMissingContentLength) {
  RequestView r{"PUT",
                "/k",
                {{"host", kHost},
                 {"x-amz-date", kDate},
                 {"x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"}}};
  auto key = DeriveSigningKey(kSecret, "20130524", "us-east-1", "s3");
  auto canonical = CanonicalRequest(r, "/k", {"host", "x-amz-content-sha256", "x-amz-date"},
                                    "STREAMING-UNSIGNED-PAYLOAD-TRAILER", false);
  ASSERT_TRUE(canonical.ok());
  r.headers.emplace_back(
      "authorization", Authorization("host;x-amz-content-sha256;x-amz-date",
                                     HmacSha256Hex(key, StringToSign(kDate, kScope, *canonical))));
  EXPECT_EQ(VerifyCode(r), S3Code::kMissingContentLength);
}

// ---- Canonical forms. ----

TEST(SigV4CanonicalTest, UriEncode) {
  EXPECT_EQ(UriEncode("AZaz09-._~", false), "AZaz09-._~");
  EXPECT_EQ(UriEncode("a b+c/d%e=f&g", false), "a%20b%2Bc%2Fd%25e%3Df%26g");
  EXPECT_EQ(UriEncode("a b/c", true), "a%20b/c");
  EXPECT_EQ(UriEncode("\xc3\xa9\xff", false), "%C3%A9%FF");
}

TEST(SigV4CanonicalTest, PercentDecode) {
  EXPECT_EQ(PercentDecode("a%20b%2fc+d"), "a b/c+d");
  EXPECT_EQ(PercentDecode("%C3%A9"), "\xc3\xa9");
  EXPECT_EQ(PercentDecode("%"), std::nullopt);
  EXPECT_EQ(PercentDecode("%2"), std::nullopt);
  EXPECT_EQ(PercentDecode("%zz"), std::nullopt);
}

TEST(SigV4CanonicalTest, QueryIsDecodedReencodedAndSorted) {
  EXPECT_EQ(CanonicalQueryString("prefix=J&max-keys=2", false), "max-keys=2&prefix=J");
  EXPECT_EQ(CanonicalQueryString("b=2&a=2&a=1&c", false), "a=1&a=2&b=2&c=");
  EXPECT_EQ(CanonicalQueryString("prefix=a%2fb c&delimiter=%2F", false),
            "delimiter=%2F&prefix=a%2Fb%20c");
  EXPECT_EQ(CanonicalQueryString("k=%7e%41+", false), "k=~A%2B");
  EXPECT_EQ(CanonicalQueryString("&&a=1&", false), "a=1");
  EXPECT_EQ(CanonicalQueryString("x=%zz", false), "x=%25zz");
  EXPECT_EQ(CanonicalQueryString("X-Amz-Signature=abc&a=1", true), "a=1");
  EXPECT_EQ(CanonicalQueryString("X-Amz-Signature=abc&a=1", false), "X-Amz-Signature=abc&a=1");
  // Sorted by encoded name: upper case before lower case, as bytes.
  EXPECT_EQ(CanonicalQueryString("uploads&X-Amz-Date=1", false), "X-Amz-Date=1&uploads=");
}

TEST(SigV4CanonicalTest, HeaderValuesTrimmedAndSpacesCollapsed) {
  RequestView r{
      "GET", "/", {{"host", "h"}, {"x-amz-meta-a", "  a   b  c "}, {"x-amz-meta-a", "d"}}};
  auto canonical = CanonicalRequest(r, "/", {"host", "x-amz-meta-a"}, "UNSIGNED-PAYLOAD", false);
  ASSERT_TRUE(canonical.ok());
  EXPECT_EQ(*canonical,
            "GET\n/\n\nhost:h\nx-amz-meta-a:a b c,d\n\nhost;x-amz-meta-a\nUNSIGNED-PAYLOAD");
  EXPECT_EQ(CodeOf(CanonicalRequest(r, "/", {"host", "range"}, "UNSIGNED-PAYLOAD", false).status()),
            S3Code::kSignatureDoesNotMatch);
}

TEST(SigV4CanonicalTest, ReencodedPath) {
  EXPECT_EQ(ReencodedPath(""), "/");
  EXPECT_EQ(ReencodedPath("/b/a b+c!$"), "/b/a%20b%2Bc%21%24");
  EXPECT_EQ(ReencodedPath("/b/a%20b%2bc"), "/b/a%20b%2Bc");
  EXPECT_EQ(ReencodedPath("/b//x/"), "/b//x/");
}

// Signs `r` for `path_to_sign` the way a client would, then verifies.
absl::StatusOr<AuthResult> SignAndVerify(RequestView r, std::string_view path_to_sign) {
  r.headers.emplace_back("host", "localhost:9000");
  r.headers.emplace_back("x-amz-date", kDate);
  r.headers.emplace_back("x-amz-content-sha256", kEmptySha);
  std::vector<std::string> names = {"host", "x-amz-content-sha256", "x-amz-date"};
  auto canonical = CanonicalRequest(r, path_to_sign, names, kEmptySha, false);
  if (!canonical.ok()) return canonical.status();
  auto key = DeriveSigningKey(kSecret, "20130524", "us-east-1", "s3");
  r.headers.emplace_back(
      "authorization", Authorization("host;x-amz-content-sha256;x-amz-date",
                                     HmacSha256Hex(key, StringToSign(kDate, kScope, *canonical))));
  return VerifyRequest(r, Secrets(), ExampleTime(), "us-east-1");
}

TEST(SigV4CanonicalTest, KeysAsBotocoreSendsThem) {
  // botocore percent-encodes the key (keeping '/' and '~') and signs the path as sent:
  // spaces, '+', '%', unicode, '//' and a trailing '/' all survive unnormalised.
  for (std::string path : {"/bucket/a%20b", "/bucket/a%2Bb", "/bucket/100%25", "/bucket/caf%C3%A9",
                           "/bucket//double//slash", "/bucket/dir/", "/bucket/~tilde",
                           "/bucket/a%2Fb", "/bucket/.././x"}) {
    EXPECT_TRUE(SignAndVerify(RequestView{"GET", path, {}}, path).ok()) << path;
  }
}

TEST(SigV4CanonicalTest, UnescapedReservedCharactersVerifyInCanonicalForm) {
  // A client that sends '!' and '$' raw but signs the canonical %21 %24 form.
  EXPECT_TRUE(SignAndVerify(RequestView{"GET", "/bucket/a!b$c", {}}, "/bucket/a%21b%24c").ok());
  // And one that signs what it sent.
  EXPECT_TRUE(SignAndVerify(RequestView{"GET", "/bucket/a!b$c", {}}, "/bucket/a!b$c").ok());
  // Double encoding is never what a client signed.
  EXPECT_EQ(
      CodeOf(SignAndVerify(RequestView{"GET", "/bucket/a%20b", {}}, "/bucket/a%2520b").status()),
      S3Code::kSignatureDoesNotMatch);
}

TEST(SigV4CanonicalTest, ParseAmzDate) {
  EXPECT_TRUE(ParseAmzDate("20130524T000000Z").has_value());
  EXPECT_EQ(ParseAmzDate("20130524T000000Z")->time_since_epoch(), std::chrono::seconds(1369353600));
  for (std::string_view bad : {"", "20130524T000000", "2013052AT000000Z", "20131324T000000Z",
                               "20130524T006000Z", "20130524 000000Z", "20130524T000000Z "}) {
    EXPECT_FALSE(ParseAmzDate(bad).has_value()) << bad;
  }
  // Years that a 64-bit nanosecond clock cannot hold were an overflow (found by fuzz_sigv4).
  for (std::string_view far : {"27130524T000000Z", "99991231T235959Z", "00010101T000000Z"}) {
    EXPECT_FALSE(ParseAmzDate(far).has_value()) << far;
  }
}

}  // namespace
}  // namespace mosaic::gateway
