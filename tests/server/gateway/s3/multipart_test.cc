// The pure parts of multipart (s3/multipart.h): the Complete document, the completed
// object's record (order, ETags, sizes, listed checksums), the multipart ETag, and the
// copy-source headers.

#include "server/gateway/s3/multipart.h"

#include <gtest/gtest.h>

#include <optional>

#include "server/gateway/s3/checksum.h"
#include "server/gateway/s3/errors.h"

namespace mosaic::gateway {
namespace {

constexpr uint64_t kMin = 5 << 20;

// The S3 code of a failure; nullopt for OK.
std::optional<S3Code> CodeOfStatus(const absl::Status& s) {
  if (s.ok()) return std::nullopt;
  return CodeOf(s);
}

v1::ObjectPart Part(uint32_t number, uint64_t size, char etag_digit, std::string checksum = "") {
  v1::ObjectPart p;
  p.set_number(number);
  p.set_etag(std::string(32, etag_digit));
  p.mutable_manifest()->set_size(size);
  p.mutable_manifest()->set_object_id("piece-" + std::to_string(number));
  p.set_checksum(std::move(checksum));
  return p;
}

CompletedPart Listed(uint32_t number, char etag_digit) {
  return CompletedPart{number, std::string(32, etag_digit), std::nullopt};
}

TEST(MultipartTest, ParsesTheCompleteDocumentWithQuotesAndChecksums) {
  auto parts = ParseCompleteRequest(
      "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<Part><PartNumber>1</PartNumber><ETag>\"aaa\"</ETag>"
      "<ChecksumCRC32>y/Q5Jg==</ChecksumCRC32></Part>"
      "<Part><ETag>bbb</ETag><PartNumber> 3 </PartNumber></Part>"
      "</CompleteMultipartUpload>");
  ASSERT_TRUE(parts.ok()) << parts.status();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].number, 1u);
  EXPECT_EQ((*parts)[0].etag, "aaa");
  ASSERT_TRUE((*parts)[0].checksum.has_value());
  EXPECT_EQ((*parts)[0].checksum->first, ChecksumAlgorithm::kCrc32);
  EXPECT_EQ((*parts)[0].checksum->second, "y/Q5Jg==");
  EXPECT_EQ((*parts)[1].number, 3u);
  EXPECT_EQ((*parts)[1].etag, "bbb");
  EXPECT_FALSE((*parts)[1].checksum.has_value());
}

TEST(MultipartTest, MalformedCompleteDocuments) {
  for (const char* xml : {"", "<CompleteMultipartUpload>", "<Other/>",
                          "<CompleteMultipartUpload></CompleteMultipartUpload>",
                          "<CompleteMultipartUpload><Part><ETag>a</ETag></Part>"
                          "</CompleteMultipartUpload>",
                          "<CompleteMultipartUpload><Part><PartNumber>x</PartNumber>"
                          "<ETag>a</ETag></Part></CompleteMultipartUpload>",
                          "<CompleteMultipartUpload><Thing/></CompleteMultipartUpload>",
                          "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>a"
                          "</ETag><ChecksumCRC32>a</ChecksumCRC32><ChecksumSHA1>b</ChecksumSHA1>"
                          "</Part></CompleteMultipartUpload>"}) {
    EXPECT_EQ(CodeOfStatus(ParseCompleteRequest(xml).status()), S3Code::kMalformedXML) << xml;
  }
}

TEST(MultipartTest, CompletedObjectTakesTheListedPartsInOrder) {
  v1::UploadRecord upload;
  (*upload.mutable_headers())["content-type"] = "text/plain";
  std::vector<v1::ObjectPart> stored = {Part(1, kMin, 'a'), Part(2, kMin + 1, 'b'), Part(3, 7, 'c'),
                                        Part(4, 9, 'd')};
  auto record = BuildCompletedObject(upload, stored,
                                     {Listed(1, 'a'), Listed(2, 'b'), Listed(4, 'd')}, kMin, 1234);
  ASSERT_TRUE(record.ok()) << record.status();
  ASSERT_EQ(record->parts_size(), 3);
  EXPECT_EQ(record->parts(2).number(), 4u);
  EXPECT_EQ(record->size(), kMin + kMin + 1 + 9);
  EXPECT_EQ(record->last_modified_ms(), 1234);
  EXPECT_EQ(record->headers().at("content-type"), "text/plain");
  EXPECT_TRUE(record->etag().ends_with("-3")) << record->etag();
}

TEST(MultipartTest, CompletionRules) {
  v1::UploadRecord upload;
  std::vector<v1::ObjectPart> stored = {Part(1, kMin, 'a'), Part(2, 100, 'b'), Part(3, 7, 'c')};
  auto code = [&](std::vector<CompletedPart> listed) {
    return CodeOfStatus(BuildCompletedObject(upload, stored, listed, kMin, 0).status());
  };
  EXPECT_EQ(code({Listed(2, 'b'), Listed(1, 'a')}), S3Code::kInvalidPartOrder);
  EXPECT_EQ(code({Listed(1, 'a'), Listed(1, 'a')}), S3Code::kInvalidPartOrder);
  EXPECT_EQ(code({Listed(1, 'x')}), S3Code::kInvalidPart);
  EXPECT_EQ(code({Listed(9, 'a')}), S3Code::kInvalidPart);
  EXPECT_EQ(code({Listed(2, 'b'), Listed(3, 'c')}), S3Code::kEntityTooSmall);
  // Only the last part may be small.
  EXPECT_EQ(code({Listed(1, 'a'), Listed(3, 'c')}), std::nullopt);
}

TEST(MultipartTest, ListedChecksumsMustMatchTheUploadsAlgorithmAndValue) {
  v1::UploadRecord upload;
  upload.set_checksum_algorithm("CRC32");
  upload.set_checksum_composite(true);
  std::string digest = ComputeDigest(ChecksumAlgorithm::kCrc32, "123456789");
  std::vector<v1::ObjectPart> stored = {Part(1, 9, 'a', digest)};
  auto with = [&](ChecksumAlgorithm alg, std::string value) {
    CompletedPart p = Listed(1, 'a');
    p.checksum.emplace(alg, std::move(value));
    return CodeOfStatus(BuildCompletedObject(upload, stored, {p}, kMin, 0).status());
  };
  EXPECT_EQ(with(ChecksumAlgorithm::kCrc32, "y/Q5Jg=="), std::nullopt);
  EXPECT_EQ(with(ChecksumAlgorithm::kCrc32, "AAAAAA=="), S3Code::kInvalidPart);
  EXPECT_EQ(with(ChecksumAlgorithm::kCrc32, "not base64"), S3Code::kInvalidPart);
  EXPECT_EQ(with(ChecksumAlgorithm::kSha1, "y/Q5Jg=="), S3Code::kInvalidPart);
  // An upload without an algorithm does not check listed values.
  upload.clear_checksum_algorithm();
  EXPECT_EQ(with(ChecksumAlgorithm::kCrc32, "AAAAAA=="), std::nullopt);
}

TEST(MultipartTest, MultipartEtagIsTheMd5OfTheBinaryMd5s) {
  std::string md5_a = ComputeDigest(ChecksumAlgorithm::kMd5, "a");
  std::string md5_b = ComputeDigest(ChecksumAlgorithm::kMd5, "b");
  v1::ObjectPart a, b;
  a.set_etag(HexEncode(AsBytes(md5_a)));
  b.set_etag(HexEncode(AsBytes(md5_b)));
  auto etag = MultipartEtag({a, b});
  ASSERT_TRUE(etag.ok()) << etag.status();
  EXPECT_EQ(*etag,
            HexEncode(AsBytes(ComputeDigest(ChecksumAlgorithm::kMd5, md5_a + md5_b))) + "-2");
  b.set_etag("not hex");
  EXPECT_FALSE(MultipartEtag({a, b}).ok());
}

TEST(MultipartTest, CopySourceAndRange) {
  auto src = ParseCopySource("/my-bucket/dir/a%20b%2Bc");
  ASSERT_TRUE(src.ok()) << src.status();
  EXPECT_EQ(src->bucket, "my-bucket");
  EXPECT_EQ(src->key, "dir/a b+c");
  auto plain = ParseCopySource("b/k?versionId=null");
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->key, "k");
  EXPECT_EQ(plain->version, "null");
  auto versioned = ParseCopySource("b/k?versionId=0000000000000001deadbeef");
  ASSERT_TRUE(versioned.ok()) << versioned.status();
  EXPECT_EQ(versioned->version, "0000000000000001deadbeef");
  EXPECT_EQ(ParseCopySource("b/k")->version, std::nullopt);
  EXPECT_FALSE(ParseCopySource("b/k?versionId=").ok());
  EXPECT_FALSE(ParseCopySource("b/k?other=3").ok());
  EXPECT_FALSE(ParseCopySource("bucket-only").ok());
  auto range = ParseCopySourceRange("bytes=5-9", 10);
  ASSERT_TRUE(range.ok()) << range.status();
  EXPECT_EQ(range->first, 5u);
  EXPECT_EQ(range->last, 9u);
  EXPECT_EQ(CodeOfStatus(ParseCopySourceRange("bytes=5-10", 10).status()), S3Code::kInvalidRange);
  EXPECT_EQ(CodeOfStatus(ParseCopySourceRange("bytes=9-5", 10).status()), S3Code::kInvalidArgument);
  EXPECT_EQ(CodeOfStatus(ParseCopySourceRange("5-9", 10).status()), S3Code::kInvalidArgument);
}

}  // namespace
}  // namespace mosaic::gateway
