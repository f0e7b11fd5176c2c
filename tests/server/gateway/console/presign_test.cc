#include "server/gateway/console/presign.h"

#include <gtest/gtest.h>

#include "server/gateway/http/request.h"
#include "server/gateway/s3/sigv4.h"

namespace mosaic::gateway::console {
namespace {

using std::chrono::seconds;

// The request a client sends for `url` ("http://host/path?query").
RequestView RequestFor(const std::string& url) {
  size_t host_start = url.find("://") + 3;
  size_t path_start = url.find('/', host_start);
  return RequestView{
      "GET", url.substr(path_start), {{"host", url.substr(host_start, path_start - host_start)}}};
}

class PresignTest : public ::testing::Test {
 protected:
  PresignRequest Request() {
    return {"http://127.0.0.1:9000",
            "photos",
            "summer 2026/a+b&c.jpg",
            "MKSHARE",
            "s3cr3t",
            "us-east-1",
            3600,
            now_};
  }
  absl::StatusOr<AuthResult> Verify(const std::string& url,
                                    std::chrono::system_clock::time_point at) {
    return VerifyRequest(
        RequestFor(url),
        [](const std::string& id) -> absl::StatusOr<std::string> {
          if (id != "MKSHARE") return absl::NotFoundError("no such key");
          return std::string("s3cr3t");
        },
        at, "us-east-1");
  }
  std::chrono::system_clock::time_point now_ =
      std::chrono::system_clock::time_point(seconds(1'780'000'000));
};

TEST_F(PresignTest, TheGatewaysOwnVerifierAcceptsTheLinkUntilItExpires) {
  auto url = PresignGet(Request());
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_TRUE(url->starts_with("http://127.0.0.1:9000/photos/summer%202026/a%2Bb%26c.jpg?"))
      << *url;
  auto auth = Verify(*url, now_ + seconds(10));
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_TRUE(auth->presigned);
  EXPECT_EQ(auth->access_key_id, "MKSHARE");
  EXPECT_FALSE(Verify(*url, now_ + seconds(3601)).ok());
}

TEST_F(PresignTest, ATamperedLinkIsRefused) {
  auto url = PresignGet(Request());
  ASSERT_TRUE(url.ok());
  std::string other = *url;
  other.replace(other.find("photos"), 6, "secret");
  EXPECT_FALSE(Verify(other, now_).ok());
  std::string longer = *url;
  longer.replace(longer.find("X-Amz-Expires=3600"), 18, "X-Amz-Expires=9999");
  EXPECT_FALSE(Verify(longer, now_).ok());
}

TEST_F(PresignTest, ExpiryAndEndpointAreChecked) {
  PresignRequest r = Request();
  r.expires_s = kMaxShareSeconds + 1;
  EXPECT_EQ(PresignGet(r).status().code(), absl::StatusCode::kInvalidArgument);
  r.expires_s = 0;
  EXPECT_EQ(PresignGet(r).status().code(), absl::StatusCode::kInvalidArgument);
  r = Request();
  r.endpoint = "ftp://example";
  EXPECT_EQ(PresignGet(r).status().code(), absl::StatusCode::kInvalidArgument);
  r.endpoint = "https://s3.example.org/";
  auto url = PresignGet(r);
  ASSERT_TRUE(url.ok());
  EXPECT_TRUE(url->starts_with("https://s3.example.org/photos/")) << *url;
}

}  // namespace
}  // namespace mosaic::gateway::console
