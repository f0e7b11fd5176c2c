// Object tags (s3/tagging.h): the x-amz-tagging header and the Tagging document, each rule
// broken once; and the copy-source conditions of s3/copy.h.

#include "server/gateway/s3/tagging.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "server/gateway/s3/copy.h"
#include "server/gateway/s3/errors.h"
#include "server/gateway/s3/xml.h"

namespace mosaic::gateway {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

Pairs AsPairs(const std::vector<v1::Tag>& tags) {
  Pairs out;
  for (const auto& t : tags) out.emplace_back(t.key(), t.value());
  return out;
}

S3Code CodeOfHeader(std::string_view header) {
  auto tags = TagsFromHeader(header);
  EXPECT_FALSE(tags.ok()) << header;
  return tags.ok() ? S3Code::kInternalError : CodeOf(tags.status());
}

S3Code CodeOfXml(std::string_view xml) {
  auto tags = TagsFromXml(xml);
  EXPECT_FALSE(tags.ok()) << xml;
  return tags.ok() ? S3Code::kInternalError : CodeOf(tags.status());
}

std::string Repeat(std::string_view s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

std::string Document(const Pairs& tags) {
  std::string xml = "<Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><TagSet>";
  for (const auto& [k, v] : tags) xml += "<Tag><Key>" + k + "</Key><Value>" + v + "</Value></Tag>";
  return xml + "</TagSet></Tagging>";
}

TEST(TagsFromHeaderTest, ParsesPairsInOrderAndDecodes) {
  auto tags = TagsFromHeader("b=2&a=one%20two&c=x+y&empty=&bare&k%26=v%3D");
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_EQ(
      AsPairs(*tags),
      (Pairs{
          {"b", "2"}, {"a", "one two"}, {"c", "x y"}, {"empty", ""}, {"bare", ""}, {"k&", "v="}}));
}

TEST(TagsFromHeaderTest, EmptyHeaderAndEmptyPairsAreNoTags) {
  EXPECT_TRUE(TagsFromHeader("")->empty());
  auto tags = TagsFromHeader("&a=1&&");
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ(AsPairs(*tags), (Pairs{{"a", "1"}}));
}

TEST(TagsFromHeaderTest, Utf8CountsCharactersNotBytes) {
  // "é" is two bytes: 128 of them are 256 bytes but 128 characters.
  std::string key = Repeat("%C3%A9", 128), value = Repeat("%C3%A9", 256);
  auto tags = TagsFromHeader(key + "=" + value);
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_EQ((*tags)[0].key().size(), 256u);
  EXPECT_EQ(CodeOfHeader(key + "%C3%A9=v"), S3Code::kInvalidTag);
  EXPECT_EQ(CodeOfHeader("k=" + value + "%C3%A9"), S3Code::kInvalidTag);
}

TEST(TagsFromHeaderTest, EachRuleBroken) {
  std::string ten;
  for (int i = 0; i < 10; ++i) ten += "k" + std::to_string(i) + "=v&";
  EXPECT_TRUE(TagsFromHeader(ten).ok());
  EXPECT_EQ(CodeOfHeader(ten + "k10=v"), S3Code::kInvalidTag);  // 11 tags
  EXPECT_EQ(CodeOfHeader("=v"), S3Code::kInvalidTag);           // empty key
  EXPECT_EQ(CodeOfHeader(std::string(129, 'k') + "=v"), S3Code::kInvalidTag);
  EXPECT_TRUE(TagsFromHeader(std::string(128, 'k') + "=" + std::string(256, 'v')).ok());
  EXPECT_EQ(CodeOfHeader("k=" + std::string(257, 'v')), S3Code::kInvalidTag);
  EXPECT_EQ(CodeOfHeader("a=1&a=2"), S3Code::kInvalidTag);       // duplicate
  EXPECT_EQ(CodeOfHeader("aws:owner=me"), S3Code::kInvalidTag);  // reserved
  EXPECT_EQ(CodeOfHeader("k=%FF"), S3Code::kInvalidTag);         // not UTF-8
  EXPECT_EQ(CodeOfHeader("k=%C0%AF"), S3Code::kInvalidTag);      // overlong
  EXPECT_EQ(CodeOfHeader("k=%ED%A0%80"), S3Code::kInvalidTag);   // surrogate
  EXPECT_EQ(CodeOfHeader("k=%E2%82"), S3Code::kInvalidTag);      // truncated
  EXPECT_EQ(CodeOfHeader("k=%zz"), S3Code::kInvalidArgument);    // bad escape
}

TEST(TagsFromHeaderTest, AHostileNumberOfPairsStopsEarly) {
  std::string many = Repeat("a=b&", 100000);
  EXPECT_EQ(CodeOfHeader(many), S3Code::kInvalidTag);
}

TEST(TagsFromXmlTest, ParsesInOrderWithEntitiesAndSpaces) {
  auto tags = TagsFromXml(Document(
      {{"z", "last &amp; first"}, {"a", " "}, {"m", ""}, {"\xC3\xA9t\xC3\xA9", "&lt;hot&gt;"}}));
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_EQ(AsPairs(*tags),
            (Pairs{{"z", "last & first"}, {"a", " "}, {"m", ""}, {"\xC3\xA9t\xC3\xA9", "<hot>"}}));
  auto none = TagsFromXml("<Tagging><TagSet/></Tagging>");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(TagsFromXmlTest, MalformedDocuments) {
  EXPECT_EQ(CodeOfXml(""), S3Code::kMalformedXML);
  EXPECT_EQ(CodeOfXml("<Tagging><TagSet>"), S3Code::kMalformedXML);         // unclosed
  EXPECT_EQ(CodeOfXml("<Other><TagSet/></Other>"), S3Code::kMalformedXML);  // root
  EXPECT_EQ(CodeOfXml("<Tagging></Tagging>"), S3Code::kMalformedXML);       // no TagSet
  EXPECT_EQ(CodeOfXml("<Tagging><TagSet><Tag><Value>v</Value></Tag></TagSet></Tagging>"),
            S3Code::kMalformedXML);  // no Key
  EXPECT_EQ(CodeOfXml("<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>"),
            S3Code::kMalformedXML);  // no Value
}

TEST(TagsFromXmlTest, EachRuleBroken) {
  Pairs ten;
  for (int i = 0; i < 10; ++i) ten.emplace_back("k" + std::to_string(i), "v");
  EXPECT_TRUE(TagsFromXml(Document(ten)).ok());
  ten.emplace_back("k10", "v");
  EXPECT_EQ(CodeOfXml(Document(ten)), S3Code::kInvalidTag);
  EXPECT_EQ(CodeOfXml(Document({{"", "v"}})), S3Code::kInvalidTag);
  EXPECT_EQ(CodeOfXml(Document({{std::string(129, 'k'), "v"}})), S3Code::kInvalidTag);
  EXPECT_EQ(CodeOfXml(Document({{"k", std::string(257, 'v')}})), S3Code::kInvalidTag);
  EXPECT_EQ(CodeOfXml(Document({{"k", "1"}, {"k", "2"}})), S3Code::kInvalidTag);
  EXPECT_EQ(CodeOfXml(Document({{"aws:k", "1"}})), S3Code::kInvalidTag);
  EXPECT_EQ(CodeOfXml(Document({{"k", "\xFF"}})), S3Code::kInvalidTag);
}

TEST(TaggingXmlTest, RoundTripsThroughTheParser) {
  v1::ObjectRecord record;
  for (const auto& [k, v] : Pairs{{"b", "x<&>y"}, {"a", ""}, {"c", " "}}) {
    v1::Tag* t = record.add_tags();
    t->set_key(k);
    t->set_value(v);
  }
  std::string xml = TaggingXml(record.tags());
  EXPECT_NE(xml.find("<Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"),
            std::string::npos);
  auto back = TagsFromXml(xml);
  ASSERT_TRUE(back.ok()) << back.status() << xml;
  EXPECT_EQ(AsPairs(*back), (Pairs{{"b", "x<&>y"}, {"a", ""}, {"c", " "}}));
}

// --- x-amz-copy-source-if-* -------------------------------------------------------------

constexpr int64_t kModifiedMs = 1704164645000;  // Tue, 02 Jan 2024 03:04:05 GMT

v1::ObjectRecord Source() {
  v1::ObjectRecord r;
  r.set_etag("0123abcd");
  r.set_last_modified_ms(kModifiedMs);
  return r;
}

absl::Status Check(Pairs headers) {
  RequestView request;
  request.method = "PUT";
  request.headers = std::move(headers);
  return CheckCopySourceConditions(request, Source());
}

S3Code CodeOfCheck(Pairs headers) {
  absl::Status s = Check(std::move(headers));
  return s.ok() ? S3Code::kInternalError : CodeOf(s);
}

const char* kBefore = "Mon, 01 Jan 2024 00:00:00 GMT";
const char* kAfter = "Wed, 03 Jan 2024 00:00:00 GMT";

TEST(CopySourceConditionsTest, EachConditionAlone) {
  EXPECT_TRUE(Check({}).ok());
  EXPECT_TRUE(Check({{"x-amz-copy-source-if-match", "\"0123abcd\""}}).ok());
  EXPECT_EQ(CodeOfCheck({{"x-amz-copy-source-if-match", "\"other\""}}),
            S3Code::kPreconditionFailed);
  EXPECT_TRUE(Check({{"x-amz-copy-source-if-none-match", "\"other\""}}).ok());
  // A copy whose if-none-match matches is 412, never 304.
  EXPECT_EQ(CodeOfCheck({{"x-amz-copy-source-if-none-match", "\"0123abcd\""}}),
            S3Code::kPreconditionFailed);
  EXPECT_TRUE(Check({{"x-amz-copy-source-if-modified-since", kBefore}}).ok());
  EXPECT_EQ(CodeOfCheck({{"x-amz-copy-source-if-modified-since", kAfter}}),
            S3Code::kPreconditionFailed);
  EXPECT_TRUE(Check({{"x-amz-copy-source-if-unmodified-since", kAfter}}).ok());
  EXPECT_EQ(CodeOfCheck({{"x-amz-copy-source-if-unmodified-since", kBefore}}),
            S3Code::kPreconditionFailed);
}

TEST(CopySourceConditionsTest, S3Precedence) {
  // if-match true and if-unmodified-since false: the copy goes ahead.
  EXPECT_TRUE(Check({{"x-amz-copy-source-if-match", "\"0123abcd\""},
                     {"x-amz-copy-source-if-unmodified-since", kBefore}})
                  .ok());
  // if-none-match false and if-modified-since true: 412.
  EXPECT_EQ(CodeOfCheck({{"x-amz-copy-source-if-none-match", "\"0123abcd\""},
                         {"x-amz-copy-source-if-modified-since", kBefore}}),
            S3Code::kPreconditionFailed);
  // The destination's own If-* headers are not the source's conditions.
  EXPECT_TRUE(Check({{"if-match", "\"other\""}, {"if-none-match", "*"}}).ok());
}

}  // namespace
}  // namespace mosaic::gateway
