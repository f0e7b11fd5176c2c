// Requests exactly as real clients signed them. botocore 1.29 (Debian 12's python3-botocore) signed
// them at 20130524T000000Z for http://127.0.0.1:9000, path-style: keys with spaces, '+', '%',
// unicode, '//', reserved characters; a ListObjectsV2 query; a PUT with metadata whose value
// has inner runs of spaces; presigned GET and PUT URLs. Generated once with a fixed clock;
// the gateway must accept every one unchanged.

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/gateway/s3/errors.h"
#include "server/gateway/s3/sigv4.h"

namespace mosaic::gateway {
namespace {

SecretLookup ExampleSecret() {
  return [](const std::string& id) -> absl::StatusOr<std::string> {
    if (id == "AKIAIOSFODNN7EXAMPLE")
      return std::string("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    return absl::NotFoundError(id);
  };
}

std::chrono::system_clock::time_point SignedAt() { return *ParseAmzDate("20130524T000000Z"); }

const std::vector<RequestView>& BotocoreRequests() {
  static const auto*
      requests =
          new std::
              vector<RequestView>{
                  {"GET",
                   R"(/bkt/a%20b)",
                   {{"host", R"(127.0.0.1:9000)"},
                    {"x-amz-date", R"(20130524T000000Z)"},
                    {"x-amz-content-sha256",
                     R"(e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855)"},
                    {"authorization",
                     R"(AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=b1730525bd75515625dce5528e9b50519a42106c18ed845cd0ad57d65bdb73b9)"}}},
                  {"GET",
                   R"(/bkt/a%2Bb)",
                   {{"host", R"(127.0.0.1:9000)"},
                    {"x-amz-date", R"(20130524T000000Z)"},
                    {"x-amz-content-sha256",
                     R"(e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855)"},
                    {"authorization",
                     R"(AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=7668347342d77c8fd41a3bc80cf9cee0f79b89d7347ac6e74e6516dba1ef721f)"}}},
                  {"GET",
                   R"(/bkt/100%25)",
                   {{"host", R"(127.0.0.1:9000)"},
                    {"x-amz-date", R"(20130524T000000Z)"},
                    {"x-amz-content-sha256",
                     R"(e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855)"},
                    {"authorization",
                     R"(AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=9aa71235b226f6a880c81cb49b555dcd23cba1d00a109e62db19cd027c4b8a45)"}}},
                  {"GET",
                   R"(/bkt/caf%C3%A9/%C3%BC)",
                   {{"host", R"(127.0.0.1:9000)"},
                    {"x-amz-date", R"(20130524T000000Z)"},
                    {"x-amz-content-sha256",
                     R"(e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855)"},
                    {"authorization",
                     R"(AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=bbac6c107c012ab839fd34e618f6520f3f0d07792e4202786b4bc256dc58bbcc)"}}},
                  {"GET",
                   R"(/bkt/dir//x)",
                   {{"host", R"(127.0.0.1:9000)"},
                    {"x-amz-date", R"(20130524T000000Z)"},
                    {"x-amz-content-sha256",
                     R"(e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855)"},
                    {"authorization",
                     R"(AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=2231e0181e80cef3f31d453fb19e74e8b4895040aab49341f080095772814b87)"}}},
                  {"GET",
                   R"(/bkt/x%21y%24z%27%28%2A%29)",
                   {{"host", R"(127.0.0.1:9000)"}, {"x-amz-date", R"(20130524T000000Z)"}, {"x-amz-content-sha256", R"(e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855)"}, {"authorization", R"(AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=336bc2a0e9abd21f17a396b347739ee2080fdc6dac2210421d3a0f1c29db422d)"}}},
                  {"GET",
                   R"(/bkt/~t)",
                   {{"host", R"(127.0.0.1:9000)"},
                    {"x-amz-date", R"(20130524T000000Z)"},
                    {"x-amz-content-sha256",
                     R"(e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855)"},
                    {"authorization",
                     R"(AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=b2ff2797681612aa90d83093f65020d201ca22cfae4ecd550b99302d4e504526)"}}},
                  {"GET",
                   R"(/bkt?list-type=2&prefix=a%20b%2Bc&delimiter=%2F&start-after=%C3%BC&encoding-type=url)",
                   {{"host", R"(127.0.0.1:9000)"},
                    {"x-amz-date", R"(20130524T000000Z)"},
                    {"x-amz-content-sha256",
                     R"(e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855)"},
                    {"authorization",
                     R"(AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=6ea974d99a95db4b0ae6f813915e7199ab14ab3a7307838b71b8ade881c714fe)"}}},
                  {"PUT",
                   R"(/bkt/k%20y)",
                   {{"x-amz-meta-m", R"(v  w)"},
                    {"content-md5", R"(XUFAKrxLKna5cZ2REBfFkg==)"},
                    {"expect", R"(100-continue)"},
                    {"host", R"(127.0.0.1:9000)"},
                    {"x-amz-date", R"(20130524T000000Z)"},
                    {"x-amz-content-sha256",
                     R"(2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824)"},
                    {"authorization",
                     R"(AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=content-md5;host;x-amz-content-sha256;x-amz-date;x-amz-meta-m, Signature=71f28b23555670312a5dd6e389da5a817bab97d055ef3e9cbc32b11a114167f0)"},
                    {"content-length", R"(5)"}}},
              };
  return *requests;
}

TEST(SigV4BotocoreTest, EveryBotocoreRequestVerifies) {
  for (const RequestView& r : BotocoreRequests()) {
    absl::StatusOr<AuthResult> auth = VerifyRequest(r, ExampleSecret(), SignedAt(), "us-east-1");
    EXPECT_TRUE(auth.ok()) << r.target << ": " << auth.status();
  }
}

TEST(SigV4BotocoreTest, EveryBotocoreRequestFailsWithAnotherPath) {
  for (RequestView r : BotocoreRequests()) {
    size_t q = r.target.find('?');
    r.target.insert(q == std::string::npos ? r.target.size() : q, "x");
    EXPECT_EQ(CodeOf(VerifyRequest(r, ExampleSecret(), SignedAt(), "us-east-1").status()),
              S3Code::kSignatureDoesNotMatch)
        << r.target;
  }
}

TEST(SigV4BotocoreTest, PresignedUrlsVerifyUntilTheyExpire) {
  struct Presigned {
    std::string method;
    std::string target;
    int expires_s;
  };
  const Presigned urls[] = {
      {"GET",
       "/bkt/a%20b%2Bc/%C3%BC?"
       "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-"
       "east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-SignedHeaders=host&X-Amz-"
       "Expires=3600&X-Amz-Signature="
       "4545a0e57c7bd2f33f24370b65b26374450aa7b07825e263b785e1a567b2601c",
       3600},
      {"PUT",
       "/bkt/up%20load?"
       "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-"
       "east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-SignedHeaders=host&X-Amz-"
       "Expires=604800&X-Amz-Signature="
       "aab320d86add236d79fb3d88df92be7d5632274d35ef3aa716dc47f363f213a2",
       604800},
  };
  for (const auto& p : urls) {
    RequestView r{p.method, p.target, {{"host", "127.0.0.1:9000"}}};
    auto at = [&](int s) { return SignedAt() + std::chrono::seconds(s); };
    absl::StatusOr<AuthResult> auth =
        VerifyRequest(r, ExampleSecret(), at(p.expires_s), "us-east-1");
    ASSERT_TRUE(auth.ok()) << p.target << ": " << auth.status();
    EXPECT_TRUE(auth->presigned);
    EXPECT_EQ(auth->payload_mode, PayloadMode::kUnsigned);
    absl::Status expired =
        VerifyRequest(r, ExampleSecret(), at(p.expires_s + 1), "us-east-1").status();
    EXPECT_EQ(CodeOf(expired), S3Code::kAccessDenied);
    EXPECT_EQ(expired.message(), "Request has expired");
  }
}

// Requests curl 7.88.1 (Debian 12) sent with --aws-sigv4 "aws:amz:us-east-1:s3", captured on
// a loopback listener. curl signs the query as sent (unsorted, '/' unescaped, "uploads"
// without '='), the path as sent ('!' '$' '+' raw), sends no x-amz-content-sha256, and signs
// the empty-body hash for -T uploads.
const std::vector<RequestView>& CurlRequests() {
  static const auto* requests = new std::vector<RequestView>{
      {"GET",
       R"(/bkt/a%20b)",
       {{"host", R"(127.0.0.1:18777)"},
        {"authorization",
         R"(AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261126/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=23f828c5e4c6621c56b63943fe0c7f32bc9c73227ee4174433e7366e073c112a)"},
        {"x-amz-date", R"(20261126T132138Z)"}}},
      {"GET",
       R"(/bkt/a!b$c+d)",
       {{"host", R"(127.0.0.1:18777)"},
        {"authorization",
         R"(AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261126/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=e26ff5dfc7f24684f5e1fffc8dec278b5c8c462ba31b14da282f112fed3f4f14)"},
        {"x-amz-date", R"(20261126T132138Z)"}}},
      {"GET",
       R"(/bkt?list-type=2&prefix=a%20b&delimiter=/)",
       {{"host", R"(127.0.0.1:18777)"},
        {"authorization",
         R"(AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261126/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=a89089aacb49b677769c2eb8158faaff8c353a9865d091ebb70f73aaaf99431d)"},
        {"x-amz-date", R"(20261126T132138Z)"}}},
      {"PUT",
       R"(/bkt/up)",
       {{"host", R"(127.0.0.1:18777)"},
        {"authorization",
         R"(AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261126/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date;x-amz-meta-a, Signature=6d92aea0e3bfd868392926702cd9ab07201c17a29753dd107a45e0b863678437)"},
        {"x-amz-date", R"(20261126T132138Z)"},
        {"x-amz-meta-a", R"(b)"},
        {"content-length", R"(6)"},
        {"expect", R"(100-continue)"}}},
      {"POST",
       R"(/bkt/x?uploads)",
       {{"host", R"(127.0.0.1:18777)"},
        {"authorization",
         R"(AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261126/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=516af2b8a5eb0fa1057ceb0984645e48cc5de9e98bead3b68ee1fedb4d0e58e0)"},
        {"x-amz-date", R"(20261126T132138Z)"}}},
  };
  return *requests;
}

std::chrono::system_clock::time_point CurlSignedAt() { return *ParseAmzDate("20261126T132138Z"); }

bool HasBody(const RequestView& r) { return r.HasHeader("content-length"); }

TEST(SigV4CurlTest, EveryCurlRequestWithoutABodyVerifies) {
  for (const RequestView& r : CurlRequests()) {
    if (HasBody(r)) continue;
    absl::StatusOr<AuthResult> auth =
        VerifyRequest(r, ExampleSecret(), CurlSignedAt(), "us-east-1");
    ASSERT_TRUE(auth.ok()) << r.target << ": " << auth.status();
    EXPECT_EQ(auth->payload_mode, PayloadMode::kSigned) << r.target;
    EXPECT_EQ(auth->payload_sha256_hex, kEmptySha256Hex) << r.target;
  }
}

TEST(SigV4CurlTest, EveryCurlRequestFailsWhenItsQueryOrPathChanges) {
  for (RequestView r : CurlRequests()) {
    if (HasBody(r)) continue;
    RequestView longer_path = r;
    size_t q = r.target.find('?');
    longer_path.target.insert(q == std::string::npos ? r.target.size() : q, "x");
    EXPECT_EQ(CodeOf(VerifyRequest(longer_path, ExampleSecret(), CurlSignedAt(), "").status()),
              S3Code::kSignatureDoesNotMatch);
    RequestView more_query = r;
    more_query.target += q == std::string::npos ? "?a=1" : "&a=1";
    EXPECT_EQ(CodeOf(VerifyRequest(more_query, ExampleSecret(), CurlSignedAt(), "").status()),
              S3Code::kSignatureDoesNotMatch);
  }
}

// Finding 7 of issue 18: a body and no x-amz-content-sha256 (curl without -H
// "x-amz-content-sha256: ...") leaves the body unbound to the signature: refused as S3 does,
// whether curl signed the empty-body hash (-T) or the body's (-d).
TEST(SigV4CurlTest, BodyWithoutContentSha256IsRefused) {
  RequestView data{
      "PUT",
      "/bkt/put2",
      {{"host", R"(127.0.0.1:18777)"},
       {"authorization",
        R"(AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261126/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=866b9fceca4de4f558f4d84c408ae5e55adf14e5b327c690c847e26ded942966)"},
       {"x-amz-date", R"(20261126T132138Z)"},
       {"content-length", R"(6)"}}};
  RequestView chunked = data;
  chunked.headers.back() = {"transfer-encoding", "chunked"};
  for (const RequestView& r : {CurlRequests()[3], data, chunked}) {
    absl::Status s = VerifyRequest(r, ExampleSecret(), CurlSignedAt(), "").status();
    EXPECT_EQ(CodeOf(s), S3Code::kInvalidRequest) << r.target;
    EXPECT_EQ(s.message(), "Missing required header for this request: x-amz-content-sha256");
  }
}

}  // namespace
}  // namespace mosaic::gateway
