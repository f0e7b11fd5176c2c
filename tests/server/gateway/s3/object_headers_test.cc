#include "server/gateway/s3/object_headers.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "server/gateway/s3/errors.h"

namespace mosaic::gateway {
namespace {

// An Exchange that only records the response headers set on it.
class HeaderSink : public Exchange {
 public:
  const RequestView& request() const override { return view_; }
  const std::string& request_id() const override { return id_; }
  std::optional<uint64_t> content_length() const override { return 0; }
  absl::StatusOr<size_t> ReadBody(ByteSpan) override { return 0; }
  void SetHeader(const std::string& name, const std::string& value) override {
    headers[name] = value;
  }
  absl::Status Send(int, const std::string&) override { return absl::OkStatus(); }
  absl::Status SendHeaders(int, uint64_t) override { return absl::OkStatus(); }
  absl::Status SendBody(ConstByteSpan) override { return absl::OkStatus(); }
  bool response_started() const override { return false; }
  void Abort() override {}

  std::map<std::string, std::string> headers;

 private:
  RequestView view_;
  std::string id_ = "id";
};

RequestView Put(std::vector<std::pair<std::string, std::string>> headers) {
  RequestView r;
  r.method = "PUT";
  r.target = "/b/k";
  r.headers = std::move(headers);
  return r;
}

// Stored headers are written back on every GET: a control character in one is refused at
// PUT, before it can split a response.
TEST(ObjectHeadersTest, ControlCharactersInStoredHeadersAreRefused) {
  for (const char* name : {"content-type", "content-disposition", "x-amz-meta-note"}) {
    auto record = RecordFromHeaders(Put({{name, "a\r\nSet-Cookie: b=c"}}));
    ASSERT_FALSE(record.ok()) << name;
    EXPECT_EQ(CodeOf(record.status()), S3Code::kInvalidArgument) << name;
  }
  EXPECT_TRUE(RecordFromHeaders(Put({{"x-amz-meta-note", "tab\tok"}})).ok());
}

TEST(ObjectHeadersTest, StoresTheStandardHeadersAndUserMetadata) {
  auto record = RecordFromHeaders(Put({
      {"content-type", "text/plain; charset=utf-8"},
      {"content-encoding", "gzip"},
      {"content-disposition", "attachment; filename=\"a b.txt\""},
      {"content-language", "fr"},
      {"cache-control", "max-age=60"},
      {"expires", "Tue, 02 Jan 2024 03:04:05 GMT"},
      {"x-amz-meta-author", "Ada"},
      {"x-amz-meta-empty", ""},
      {"authorization", "AWS4-HMAC-SHA256 secret stuff"},
      {"x-amz-date", "20240102T030405Z"},
      {"content-length", "5"},
  }));
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->headers().size(), 6u);
  EXPECT_EQ(record->headers().at("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(record->headers().at("content-disposition"), "attachment; filename=\"a b.txt\"");
  EXPECT_EQ(record->headers().at("expires"), "Tue, 02 Jan 2024 03:04:05 GMT");
  EXPECT_EQ(record->user_metadata().size(), 2u);
  EXPECT_EQ(record->user_metadata().at("author"), "Ada");
  EXPECT_EQ(record->user_metadata().at("empty"), "");
}

TEST(ObjectHeadersTest, AwsChunkedIsNotStoredAsContentEncoding) {
  for (const auto& [sent, stored] :
       std::vector<std::pair<std::string, std::string>>{{"gzip, aws-chunked", "gzip"},
                                                        {"aws-chunked,gzip", "gzip"},
                                                        {"AWS-CHUNKED, br ,gzip", "br, gzip"},
                                                        {"gzip", "gzip"}}) {
    auto record = RecordFromHeaders(Put({{"content-encoding", sent}}));
    ASSERT_TRUE(record.ok());
    EXPECT_EQ(record->headers().at("content-encoding"), stored) << sent;
  }
  auto only = RecordFromHeaders(Put({{"content-encoding", "aws-chunked"}}));
  ASSERT_TRUE(only.ok());
  EXPECT_FALSE(only->headers().contains("content-encoding"));
}

TEST(ObjectHeadersTest, DefaultContentType) {
  auto record = RecordFromHeaders(Put({}));
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->headers().at("content-type"), "binary/octet-stream");
  EXPECT_TRUE(record->user_metadata().empty());
}

TEST(ObjectHeadersTest, UserMetadataIsLimitedTo2KiB) {
  // Names (without the x-amz-meta- prefix) and values count: 2048 bytes pass, 2049 do not.
  auto at_limit = RecordFromHeaders(Put({{"x-amz-meta-k", std::string(2047, 'v')}}));
  EXPECT_TRUE(at_limit.ok()) << at_limit.status();
  auto over = RecordFromHeaders(Put({{"x-amz-meta-k", std::string(2048, 'v')}}));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(CodeOf(over.status()), S3Code::kMetadataTooLarge);
  auto many = RecordFromHeaders(Put({{"x-amz-meta-a", std::string(1000, 'v')},
                                     {"x-amz-meta-b", std::string(1000, 'v')},
                                     {"x-amz-meta-c", std::string(100, 'v')}}));
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(CodeOf(many.status()), S3Code::kMetadataTooLarge);
}

v1::ObjectRecord Stored() {
  v1::ObjectRecord r;
  r.set_etag("0123abcd");
  r.set_last_modified_ms(1704164645678);
  (*r.mutable_headers())["content-type"] = "text/plain";
  (*r.mutable_headers())["cache-control"] = "no-cache";
  (*r.mutable_user_metadata())["author"] = "Ada";
  return r;
}

TEST(ObjectHeadersTest, ResponseCarriesStoredHeadersEtagAndDate) {
  HeaderSink ex;
  SetObjectHeaders(ex, Stored(), {});
  EXPECT_EQ(ex.headers.at("Content-Type"), "text/plain");
  EXPECT_EQ(ex.headers.at("Cache-Control"), "no-cache");
  EXPECT_EQ(ex.headers.at("x-amz-meta-author"), "Ada");
  EXPECT_EQ(ex.headers.at("ETag"), "\"0123abcd\"");
  EXPECT_EQ(ex.headers.at("Last-Modified"), "Tue, 02 Jan 2024 03:04:05 GMT");
  EXPECT_EQ(ex.headers.at("Accept-Ranges"), "bytes");
  EXPECT_FALSE(ex.headers.contains("Content-Encoding"));
  EXPECT_FALSE(ex.headers.contains("Expires"));
}

TEST(ObjectHeadersTest, ResponseOverridesWin) {
  HeaderSink ex;
  SetObjectHeaders(ex, Stored(),
                   {{"response-content-type", "application/json"},
                    {"response-content-disposition", "inline"},
                    {"response-expires", "Wed, 03 Jan 2024 00:00:00 GMT"},
                    {"response-unknown", "ignored"}});
  EXPECT_EQ(ex.headers.at("Content-Type"), "application/json");
  EXPECT_EQ(ex.headers.at("Content-Disposition"), "inline");
  EXPECT_EQ(ex.headers.at("Expires"), "Wed, 03 Jan 2024 00:00:00 GMT");
  EXPECT_EQ(ex.headers.at("Cache-Control"), "no-cache");
  EXPECT_FALSE(ex.headers.contains("response-unknown"));
  EXPECT_FALSE(ex.headers.contains("Unknown"));
}

}  // namespace
}  // namespace mosaic::gateway
