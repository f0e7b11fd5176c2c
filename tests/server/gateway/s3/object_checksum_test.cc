#include "server/gateway/s3/object_checksum.h"

#include <algorithm>
#include <cstring>
#include <pugixml.hpp>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/gateway/s3/attributes.h"
#include "server/gateway/s3/body.h"
#include "server/gateway/s3/errors.h"

namespace mosaic::gateway {
namespace {

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

std::string value(std::string_view alg, std::string_view data) {
  return Base64Encode(ComputeDigest(*AlgorithmFromName(alg), data));
}

v1::ObjectPart Part(uint32_t number, uint64_t size, std::string digest = "") {
  v1::ObjectPart part;
  part.set_number(number);
  part.mutable_manifest()->set_size(size);
  part.set_checksum(std::move(digest));
  return part;
}

v1::UploadRecord Upload(std::string alg, bool composite) {
  v1::UploadRecord upload;
  upload.set_checksum_algorithm(std::move(alg));
  upload.set_checksum_composite(composite);
  return upload;
}

// Three parts of random data with their digests of `alg`; `whole` is their concatenation.
struct Parts {
  std::vector<v1::ObjectPart> parts;
  std::vector<std::string> digests;
  std::string whole;
};

Parts MakeParts(ChecksumAlgorithm alg, std::vector<size_t> sizes) {
  Parts p;
  uint32_t n = 0;
  for (size_t size : sizes) {
    std::string data = RandomBytes(size, ++n);
    p.digests.push_back(ComputeDigest(alg, data));
    p.parts.push_back(Part(n, size, p.digests.back()));
    p.whole += data;
  }
  return p;
}

TEST(ObjectChecksumTest, PartDigestFollowsTheUploadsAlgorithm) {
  std::string crc = ComputeDigest(ChecksumAlgorithm::kCrc32, "part");
  // No algorithm on the upload: nothing is kept, whatever the part carried.
  auto none = PartDigestFor(Upload("", true), std::make_pair(ChecksumAlgorithm::kCrc32, crc));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, "");
  EXPECT_EQ(*PartDigestFor(Upload("", true), std::nullopt), "");
  // The upload's algorithm: the part's digest is kept.
  auto kept = PartDigestFor(Upload("CRC32", true), std::make_pair(ChecksumAlgorithm::kCrc32, crc));
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(*kept, crc);
  // Missing, or of another algorithm: InvalidRequest.
  EXPECT_EQ(CodeOf(PartDigestFor(Upload("CRC32", true), std::nullopt).status()),
            S3Code::kInvalidRequest);
  EXPECT_EQ(CodeOf(PartDigestFor(Upload("CRC32", true),
                                 std::make_pair(ChecksumAlgorithm::kSha256,
                                                ComputeDigest(ChecksumAlgorithm::kSha256, "x")))
                       .status()),
            S3Code::kInvalidRequest);
}

TEST(ObjectChecksumTest, CompositeIsTheAlgorithmOverThePartDigests) {
  for (ChecksumAlgorithm alg : {ChecksumAlgorithm::kCrc32, ChecksumAlgorithm::kCrc32c,
                                ChecksumAlgorithm::kSha1, ChecksumAlgorithm::kSha256}) {
    SCOPED_TRACE(std::string(NameOf(alg)));
    Parts p = MakeParts(alg, {5000, 7, 1234});
    auto sum = CompletedChecksum(Upload(std::string(NameOf(alg)), true), p.parts);
    ASSERT_TRUE(sum.ok()) << sum.status();
    EXPECT_EQ(sum->algorithm(), NameOf(alg));
    EXPECT_TRUE(sum->composite());
    EXPECT_EQ(sum->digest(), ComputeDigest(alg, p.digests[0] + p.digests[1] + p.digests[2]));
    EXPECT_EQ(ShownValue(*sum, 3), Base64Encode(sum->digest()) + "-3");
    EXPECT_EQ(ShownValue(*sum, 3, false), Base64Encode(sum->digest()));
    EXPECT_EQ(ChecksumTypeName(*sum), "COMPOSITE");
  }
}

TEST(ObjectChecksumTest, FullObjectCrcIsTheCrcOfTheWholeObject) {
  for (ChecksumAlgorithm alg :
       {ChecksumAlgorithm::kCrc32, ChecksumAlgorithm::kCrc32c, ChecksumAlgorithm::kCrc64Nvme}) {
    SCOPED_TRACE(std::string(NameOf(alg)));
    Parts p = MakeParts(alg, {65536, 1, 0, 99999});
    auto sum = CompletedChecksum(Upload(std::string(NameOf(alg)), false), p.parts);
    ASSERT_TRUE(sum.ok()) << sum.status();
    EXPECT_FALSE(sum->composite());
    EXPECT_EQ(sum->digest(), ComputeDigest(alg, p.whole));
    EXPECT_EQ(ShownValue(*sum, 4), Base64Encode(ComputeDigest(alg, p.whole)));
    EXPECT_EQ(ChecksumTypeName(*sum), "FULL_OBJECT");
  }
}

TEST(ObjectChecksumTest, CompletionNeedsEveryPartsDigest) {
  Parts p = MakeParts(ChecksumAlgorithm::kSha256, {10, 20});
  p.parts[1].clear_checksum();
  auto sum = CompletedChecksum(Upload("SHA256", true), p.parts);
  EXPECT_EQ(CodeOf(sum.status()), S3Code::kInvalidPart);
  // A digest of the wrong size (another algorithm's) is missing too.
  p.parts[1].set_checksum(ComputeDigest(ChecksumAlgorithm::kCrc32, "x"));
  EXPECT_EQ(CodeOf(CompletedChecksum(Upload("SHA256", true), p.parts).status()),
            S3Code::kInvalidPart);
  // Without an algorithm there is nothing to check and nothing to store.
  auto none = CompletedChecksum(Upload("", true), p.parts);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->algorithm().empty());
}

TEST(ObjectChecksumTest, CompleteHeaderIsVerified) {
  Parts p = MakeParts(ChecksumAlgorithm::kCrc32, {100, 200});
  auto full = CompletedChecksum(Upload("CRC32", false), p.parts);
  ASSERT_TRUE(full.ok());
  RequestView request;
  EXPECT_TRUE(VerifyCompleteHeader(request, *full, 2).ok());  // absent
  request.headers = {
      {"x-amz-checksum-crc32", Base64Encode(ComputeDigest(ChecksumAlgorithm::kCrc32, p.whole))}};
  EXPECT_TRUE(VerifyCompleteHeader(request, *full, 2).ok());
  request.headers = {{"x-amz-checksum-crc32", "AAAAAA=="}};
  EXPECT_EQ(CodeOf(VerifyCompleteHeader(request, *full, 2)), S3Code::kBadDigest);
  request.headers = {{"x-amz-checksum-crc32", "nonsense"}};
  EXPECT_EQ(CodeOf(VerifyCompleteHeader(request, *full, 2)), S3Code::kInvalidRequest);
  request.headers = {{"x-amz-checksum-crc32c", "AAAAAA=="}};
  EXPECT_EQ(CodeOf(VerifyCompleteHeader(request, *full, 2)), S3Code::kInvalidRequest);
  // COMPOSITE: with or without the "-N".
  auto composite = CompletedChecksum(Upload("CRC32", true), p.parts);
  ASSERT_TRUE(composite.ok());
  request.headers = {{"x-amz-checksum-crc32", ShownValue(*composite, 2)}};
  EXPECT_TRUE(VerifyCompleteHeader(request, *composite, 2).ok());
  request.headers = {{"x-amz-checksum-crc32", ShownValue(*composite, 2, false)}};
  EXPECT_TRUE(VerifyCompleteHeader(request, *composite, 2).ok());
}

TEST(ObjectChecksumTest, XmlElementNames) {
  EXPECT_EQ(XmlElementOf(ChecksumAlgorithm::kCrc32), "ChecksumCRC32");
  EXPECT_EQ(XmlElementOf(ChecksumAlgorithm::kCrc32c), "ChecksumCRC32C");
  EXPECT_EQ(XmlElementOf(ChecksumAlgorithm::kCrc64Nvme), "ChecksumCRC64NVME");
  EXPECT_EQ(XmlElementOf(ChecksumAlgorithm::kSha1), "ChecksumSHA1");
  EXPECT_EQ(XmlElementOf(ChecksumAlgorithm::kSha256), "ChecksumSHA256");
}

v1::ObjectRecord MultipartRecord(ChecksumAlgorithm alg, bool composite,
                                 std::vector<uint32_t> numbers, std::vector<size_t> sizes) {
  Parts p = MakeParts(alg, sizes);
  v1::ObjectRecord record;
  uint64_t total = 0;
  for (size_t i = 0; i < p.parts.size(); ++i) {
    p.parts[i].set_number(numbers[i]);
    *record.add_parts() = p.parts[i];
    total += sizes[i];
  }
  record.set_size(total);
  record.set_etag("0123456789abcdef0123456789abcdef-" + std::to_string(numbers.size()));
  auto sum = CompletedChecksum(Upload(std::string(NameOf(alg)), composite), p.parts);
  *record.mutable_checksum() = *sum;
  return record;
}

TEST(ObjectChecksumTest, PartNumberMapsToThePartsBytes) {
  v1::ObjectRecord record =
      MultipartRecord(ChecksumAlgorithm::kCrc32, true, {1, 3, 4}, {10, 20, 5});
  ASSERT_TRUE(IsMultipartObject(record));
  auto first = SliceOfPart(record, 1);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->offset, 0u);
  EXPECT_EQ(first->length, 10u);
  EXPECT_EQ(first->part, 0);
  EXPECT_EQ(first->parts_count, 3);
  auto third = SliceOfPart(record, 3);  // numbers need not be consecutive
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->offset, 10u);
  EXPECT_EQ(third->length, 20u);
  auto last = SliceOfPart(record, 4);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->offset, 30u);
  EXPECT_EQ(last->length, 5u);
  for (uint32_t missing : {2u, 5u, 10000u}) {
    auto s = SliceOfPart(record, missing);
    EXPECT_EQ(CodeOf(s.status()), S3Code::kInvalidPartNumber) << missing;
    EXPECT_EQ(InfoOf(CodeOf(s.status())).http_status, 416);
  }
}

TEST(ObjectChecksumTest, PartOneOfAPlainObjectIsTheWhole) {
  v1::ObjectRecord record;
  record.set_size(42);
  *record.add_parts() = Part(0, 42);
  EXPECT_FALSE(IsMultipartObject(record));
  auto whole = SliceOfPart(record, 1);
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->offset, 0u);
  EXPECT_EQ(whole->length, 42u);
  EXPECT_EQ(whole->part, -1);
  EXPECT_EQ(whole->parts_count, 0);
  EXPECT_EQ(CodeOf(SliceOfPart(record, 2).status()), S3Code::kInvalidPartNumber);
}

TEST(ObjectChecksumTest, PartNumberParameter) {
  EXPECT_EQ(*ParsePartNumber("1"), 1u);
  EXPECT_EQ(*ParsePartNumber("10000"), 10000u);
  for (std::string_view bad : {"", "0", "10001", "-1", "+1", "1x", " 1", "99999999999"}) {
    EXPECT_EQ(CodeOf(ParsePartNumber(bad).status()), S3Code::kInvalidArgument) << bad;
  }
}

TEST(ObjectChecksumTest, HeadersOfTheWholeObjectAndOfAPart) {
  v1::ObjectRecord record = MultipartRecord(ChecksumAlgorithm::kSha256, true, {1, 2}, {10, 20});
  auto whole = ChecksumHeaders(record, nullptr);
  ASSERT_EQ(whole.size(), 2u);
  EXPECT_EQ(whole[0].first, "x-amz-checksum-sha256");
  EXPECT_EQ(whole[0].second, Base64Encode(record.checksum().digest()) + "-2");
  EXPECT_EQ(whole[1], std::make_pair(std::string("x-amz-checksum-type"), std::string("COMPOSITE")));
  auto slice = SliceOfPart(record, 2);
  ASSERT_TRUE(slice.ok());
  auto part = ChecksumHeaders(record, &*slice);
  ASSERT_EQ(part.size(), 1u);
  EXPECT_EQ(part[0].second, Base64Encode(record.parts(1).checksum()));
  // Nothing stored, nothing shown.
  record.clear_checksum();
  EXPECT_TRUE(ChecksumHeaders(record, nullptr).empty());
}

RequestView AttributesHeaders(std::vector<std::pair<std::string, std::string>> headers) {
  RequestView request;
  request.method = "GET";
  request.headers = std::move(headers);
  return request;
}

TEST(ObjectAttributesTest, ParsesTheAttributeList) {
  auto all = ParseAttributesRequest(
      AttributesHeaders({{"x-amz-object-attributes", "ETag, Checksum,ObjectParts"},
                         {"x-amz-object-attributes", "StorageClass,ObjectSize"},
                         {"x-amz-max-parts", "2"},
                         {"x-amz-part-number-marker", "1"}}));
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_TRUE(all->etag && all->checksum && all->object_parts && all->storage_class &&
              all->object_size);
  EXPECT_EQ(all->max_parts, 2u);
  EXPECT_EQ(all->part_number_marker, 1u);
  EXPECT_EQ(CodeOf(ParseAttributesRequest(AttributesHeaders({})).status()),
            S3Code::kInvalidArgument);
  EXPECT_EQ(
      CodeOf(ParseAttributesRequest(AttributesHeaders({{"x-amz-object-attributes", "ETag,Owner"}}))
                 .status()),
      S3Code::kInvalidArgument);
  EXPECT_EQ(CodeOf(ParseAttributesRequest(AttributesHeaders({{"x-amz-object-attributes", "ETag"},
                                                             {"x-amz-max-parts", "many"}}))
                       .status()),
            S3Code::kInvalidArgument);
}

TEST(ObjectAttributesTest, DocumentOfAMultipartObjectIsPaged) {
  v1::ObjectRecord record =
      MultipartRecord(ChecksumAlgorithm::kCrc32c, true, {1, 2, 3}, {100, 200, 300});
  AttributesRequest req;
  req.etag = req.checksum = req.object_parts = req.storage_class = req.object_size = true;
  req.max_parts = 2;
  std::string xml = AttributesXml(record, req);
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(xml.c_str())) << xml;
  pugi::xml_node root = doc.child("GetObjectAttributesResponse");
  ASSERT_TRUE(root) << xml;
  EXPECT_EQ(std::string(root.child_value("ETag")), record.etag());  // unquoted
  EXPECT_EQ(std::string(root.child("Checksum").child_value("ChecksumCRC32C")),
            Base64Encode(record.checksum().digest()));
  EXPECT_EQ(std::string(root.child("Checksum").child_value("ChecksumType")), "COMPOSITE");
  pugi::xml_node parts = root.child("ObjectParts");
  EXPECT_EQ(std::string(parts.child_value("PartsCount")), "3");
  EXPECT_EQ(std::string(parts.child_value("PartNumberMarker")), "0");
  EXPECT_EQ(std::string(parts.child_value("NextPartNumberMarker")), "2");
  EXPECT_EQ(std::string(parts.child_value("MaxParts")), "2");
  EXPECT_EQ(std::string(parts.child_value("IsTruncated")), "true");
  std::vector<std::string> sizes;
  for (pugi::xml_node p : parts.children("Part")) {
    sizes.push_back(p.child_value("Size"));
    EXPECT_EQ(std::string(p.child_value("ChecksumCRC32C")),
              Base64Encode(record.parts(std::stoi(p.child_value("PartNumber")) - 1).checksum()));
  }
  EXPECT_EQ(sizes, (std::vector<std::string>{"100", "200"}));
  EXPECT_EQ(std::string(root.child_value("StorageClass")), "STANDARD");
  EXPECT_EQ(std::string(root.child_value("ObjectSize")), "600");

  req.part_number_marker = 2;
  pugi::xml_document next;
  ASSERT_TRUE(next.load_string(AttributesXml(record, req).c_str()));
  pugi::xml_node rest = next.child("GetObjectAttributesResponse").child("ObjectParts");
  EXPECT_EQ(std::string(rest.child_value("IsTruncated")), "false");
  EXPECT_EQ(std::string(rest.child_value("NextPartNumberMarker")), "3");
  EXPECT_EQ(std::string(rest.child("Part").child_value("PartNumber")), "3");
}

TEST(ObjectAttributesTest, PlainObjectHasNoParts) {
  v1::ObjectRecord record;
  record.set_etag("abc");
  record.set_size(5);
  *record.add_parts() = Part(0, 5);
  AttributesRequest req;
  req.object_parts = req.checksum = req.object_size = true;
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(AttributesXml(record, req).c_str()));
  pugi::xml_node root = doc.child("GetObjectAttributesResponse");
  EXPECT_FALSE(root.child("ObjectParts"));
  EXPECT_FALSE(root.child("Checksum"));  // none stored
  EXPECT_FALSE(root.child("ETag"));      // not asked for
  EXPECT_EQ(std::string(root.child_value("ObjectSize")), "5");
}

// An exchange whose request body is `body`, for the body readers.
class BodyExchange : public Exchange {
 public:
  BodyExchange(RequestView view, std::string body, bool chunked = false)
      : view_(std::move(view)), body_(std::move(body)), chunked_(chunked) {}
  const RequestView& request() const override { return view_; }
  const std::string& request_id() const override { return id_; }
  std::optional<uint64_t> content_length() const override {
    if (chunked_) return std::nullopt;
    return body_.size();
  }
  absl::StatusOr<size_t> ReadBody(ByteSpan out) override {
    size_t n = std::min(out.size(), body_.size() - pos_);
    std::memcpy(out.data(), body_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  void SetHeader(const std::string&, const std::string&) override {}
  absl::Status Send(int, const std::string&) override { return absl::OkStatus(); }
  absl::Status SendHeaders(int, uint64_t) override { return absl::OkStatus(); }
  absl::Status SendBody(ConstByteSpan) override { return absl::OkStatus(); }
  bool response_started() const override { return false; }
  void Abort() override {}

 private:
  RequestView view_;
  std::string body_;
  bool chunked_;
  size_t pos_ = 0;
  std::string id_ = "id";
};

RequestView Request(std::string method, std::string target,
                    std::vector<std::pair<std::string, std::string>> headers) {
  RequestView r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.headers = std::move(headers);
  return r;
}

// Reads the whole body and finishes; the reader's verdict.
absl::Status Drain(BodyReader& reader) {
  std::vector<std::byte> buffer(7);
  while (true) {
    auto n = reader.Read({buffer.data(), buffer.size()});
    if (!n.ok()) return n.status();
    if (*n == 0) break;
  }
  return reader.Finish();
}

TEST(BodyChecksumTest, PlainBodyKeepsTheVerifiedHeaderValue) {
  AuthResult auth;
  auth.payload_mode = PayloadMode::kUnsigned;
  BodyExchange ex(Request("PUT", "/b/k", {{"x-amz-checksum-sha1", value("SHA1", "hello")}}),
                  "hello");
  auto reader = NewBodyReader(ex, auth);
  ASSERT_TRUE(reader.ok()) << reader.status();
  ASSERT_TRUE(Drain(**reader).ok());
  auto sum = (*reader)->checksum();
  ASSERT_TRUE(sum.has_value());
  EXPECT_EQ(sum->first, ChecksumAlgorithm::kSha1);
  EXPECT_EQ(sum->second, ComputeDigest(ChecksumAlgorithm::kSha1, "hello"));

  BodyExchange none(Request("PUT", "/b/k", {}), "hello");
  auto plain = NewBodyReader(none, auth);
  ASSERT_TRUE(plain.ok());
  ASSERT_TRUE(Drain(**plain).ok());
  EXPECT_FALSE((*plain)->checksum().has_value());
}

TEST(BodyChecksumTest, WrongValueIsBadDigestAndNotKept) {
  AuthResult auth;
  BodyExchange ex(Request("PUT", "/b/k", {{"x-amz-checksum-crc32", value("CRC32", "other")}}),
                  "hello");
  auto reader = NewBodyReader(ex, auth);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(CodeOf(Drain(**reader)), S3Code::kBadDigest);
  EXPECT_FALSE((*reader)->checksum().has_value());
}

TEST(BodyChecksumTest, SdkAlgorithmNeedsItsValue) {
  AuthResult auth;
  BodyExchange alone(Request("PUT", "/b/k", {{"x-amz-sdk-checksum-algorithm", "CRC32"}}), "x");
  EXPECT_EQ(CodeOf(NewBodyReader(alone, auth).status()), S3Code::kInvalidRequest);
  BodyExchange other(Request("PUT", "/b/k",
                             {{"x-amz-sdk-checksum-algorithm", "CRC32"},
                              {"x-amz-checksum-sha256", value("SHA256", "x")}}),
                     "x");
  EXPECT_EQ(CodeOf(NewBodyReader(other, auth).status()), S3Code::kBadDigest);
  BodyExchange two(Request("PUT", "/b/k",
                           {{"x-amz-checksum-crc32", value("CRC32", "x")},
                            {"x-amz-checksum-sha256", value("SHA256", "x")}}),
                   "x");
  EXPECT_EQ(CodeOf(NewBodyReader(two, auth).status()), S3Code::kInvalidRequest);
  BodyExchange same(Request("PUT", "/b/k",
                            {{"x-amz-sdk-checksum-algorithm", "crc32"},
                             {"x-amz-checksum-crc32", value("CRC32", "x")}}),
                    "x");
  auto reader = NewBodyReader(same, auth);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_TRUE(Drain(**reader).ok());
}

TEST(BodyChecksumTest, TrailerValueIsKept) {
  AuthResult auth;
  auth.payload_mode = PayloadMode::kStreamingUnsignedTrailer;
  auth.decoded_content_length = 5;
  auth.trailer_names = {"x-amz-checksum-crc32c"};
  std::string body =
      "5\r\nhello\r\n0\r\nx-amz-checksum-crc32c:" + value("CRC32C", "hello") + "\r\n\r\n";
  BodyExchange ex(Request("PUT", "/b/k", {{"x-amz-sdk-checksum-algorithm", "CRC32C"}}), body, true);
  auto reader = NewBodyReader(ex, auth);
  ASSERT_TRUE(reader.ok()) << reader.status();
  ASSERT_TRUE(Drain(**reader).ok());
  auto sum = (*reader)->checksum();
  ASSERT_TRUE(sum.has_value());
  EXPECT_EQ(sum->first, ChecksumAlgorithm::kCrc32c);
  EXPECT_EQ(sum->second, ComputeDigest(ChecksumAlgorithm::kCrc32c, "hello"));
}

TEST(BodyChecksumTest, HeaderOnAnAwsChunkedBodyIsVerified) {
  AuthResult auth;
  auth.payload_mode = PayloadMode::kStreamingUnsignedTrailer;
  auth.decoded_content_length = 5;
  std::string body = "5\r\nhello\r\n0\r\n\r\n";
  BodyExchange good(Request("PUT", "/b/k", {{"x-amz-checksum-crc32", value("CRC32", "hello")}}),
                    body, true);
  auto reader = NewBodyReader(good, auth);
  ASSERT_TRUE(reader.ok()) << reader.status();
  ASSERT_TRUE(Drain(**reader).ok());
  ASSERT_TRUE((*reader)->checksum().has_value());
  BodyExchange bad(Request("PUT", "/b/k", {{"x-amz-checksum-crc32", value("CRC32", "hellO")}}),
                   body, true);
  auto wrong = NewBodyReader(bad, auth);
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(CodeOf(Drain(**wrong)), S3Code::kBadDigest);
}

TEST(BodyChecksumTest, CompleteMultipartHeaderIsNotTheBodys) {
  AuthResult auth;
  // The whole object's value: not checked against the XML body, not reported as its checksum.
  BodyExchange ex(Request("POST", "/b/k?uploadId=abc",
                          {{"x-amz-checksum-crc32", value("CRC32", "the object")}}),
                  "<CompleteMultipartUpload/>");
  auto reader = NewBodyReader(ex, auth);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_TRUE(Drain(**reader).ok());
  EXPECT_FALSE((*reader)->checksum().has_value());
  // A POST of something else (DeleteObjects) has its body checked.
  BodyExchange del(
      Request("POST", "/b?delete", {{"x-amz-checksum-crc32", value("CRC32", "the object")}}),
      "<Delete/>");
  auto other = NewBodyReader(del, auth);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(CodeOf(Drain(**other)), S3Code::kBadDigest);
}

}  // namespace
}  // namespace mosaic::gateway
