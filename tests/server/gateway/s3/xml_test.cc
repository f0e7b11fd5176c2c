#include "server/gateway/s3/xml.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server/gateway/s3/errors.h"
#include "server/gateway/s3/multipart.h"
#include "server/gateway/s3/tagging.h"

namespace mosaic::gateway {
namespace {

constexpr char kDeclaration[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

// Parses `xml` strictly enough to catch what clients would choke on: a missing
// declaration, unbalanced elements, bad escapes.
pugi::xml_document Parse(const std::string& xml) {
  pugi::xml_document doc;
  pugi::xml_parse_result result =
      doc.load_buffer(xml.data(), xml.size(), pugi::parse_default | pugi::parse_declaration);
  EXPECT_TRUE(result) << result.description() << " in " << xml;
  return doc;
}

TEST(XmlDocTest, DocumentHasDeclarationAndNamespace) {
  XmlDoc doc("ListBucketResult");
  XmlDoc::Add(doc.root(), "Name", "bucket");
  std::string xml = doc.ToString();
  EXPECT_TRUE(xml.starts_with(kDeclaration)) << xml;
  pugi::xml_document parsed = Parse(xml);
  pugi::xml_node root = parsed.child("ListBucketResult");
  ASSERT_TRUE(root);
  EXPECT_STREQ(root.attribute("xmlns").value(), kS3Namespace);
  EXPECT_STREQ(root.child("Name").text().get(), "bucket");
}

TEST(XmlDocTest, NestedElementsKeepOrder) {
  XmlDoc doc("ListAllMyBucketsResult");
  auto buckets = doc.root().append_child("Buckets");
  for (const char* name : {"b", "a", "c"}) {
    XmlDoc::Add(buckets.append_child("Bucket"), "Name", name);
  }
  pugi::xml_document parsed = Parse(doc.ToString());
  std::string names;
  for (pugi::xml_node b : parsed.child("ListAllMyBucketsResult").child("Buckets").children()) {
    EXPECT_STREQ(b.name(), "Bucket");
    names += b.child("Name").text().get();
  }
  EXPECT_EQ(names, "bac");
}

TEST(XmlDocTest, EmptyTextIsAnEmptyElement) {
  XmlDoc doc("R");
  XmlDoc::Add(doc.root(), "Prefix", "");
  pugi::xml_document parsed = Parse(doc.ToString());
  pugi::xml_node prefix = parsed.child("R").child("Prefix");
  ASSERT_TRUE(prefix);
  EXPECT_STREQ(prefix.text().get(), "");
}

TEST(XmlDocTest, KeysAreEscapedAndRoundTrip) {
  const std::string keys[] = {
      "a<b",
      "a&b",
      "a>b",
      "\"quoted\" and 'single'",
      "]]>",
      "&amp;",
      "<Key>injected</Key>",
      "tab\there",
      "new\nline",
      "carriage\rreturn",
      "crlf\r\nend",
      "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80",
      "  leading and trailing  ",
  };
  for (const std::string& key : keys) {
    XmlDoc doc("R");
    XmlDoc::Add(doc.root(), "Key", key);
    std::string xml = doc.ToString();
    EXPECT_EQ(xml.find("<Key>injected"), std::string::npos) << xml;
    pugi::xml_document parsed = Parse(xml);
    EXPECT_EQ(std::string(parsed.child("R").child("Key").text().get()), key) << xml;
    // Exactly one Key element: nothing in the text became markup.
    size_t count = 0;
    for (pugi::xml_node n : parsed.child("R").children()) count += n.type() == pugi::node_element;
    EXPECT_EQ(count, 1u) << xml;
  }
}

TEST(XmlDocTest, ControlCharactersAreEscapedNotRaw) {
  for (char c = 1; c < 0x20; ++c) {
    if (c == '\t' || c == '\n') continue;  // legal as themselves in XML text
    std::string key = std::string("k") + c + "k";
    XmlDoc doc("R");
    XmlDoc::Add(doc.root(), "Key", key);
    std::string xml = doc.ToString();
    EXPECT_EQ(xml.find(c), std::string::npos) << "raw control character " << int(c);
    pugi::xml_document parsed = Parse(xml);
    EXPECT_EQ(std::string(parsed.child("R").child("Key").text().get()), key) << int(c);
  }
}

// A NUL (a key stored before the router refused it) would end the text and cut the rest of
// the listing: it becomes U+FFFD, and the elements after it are all there.
TEST(XmlDocTest, NulNeverCutsTheDocument) {
  XmlDoc doc("R");
  XmlDoc::Add(doc.root(), "Key", std::string("be\0fore", 7));
  XmlDoc::Add(doc.root(), "Key", "after");
  pugi::xml_document parsed = Parse(doc.ToString());
  pugi::xml_node first = parsed.child("R").child("Key");
  EXPECT_EQ(std::string(first.text().get()),
            "be\xEF\xBF\xBD"
            "fore");
  EXPECT_EQ(std::string(first.next_sibling("Key").text().get()), "after");
  EXPECT_FALSE(IsXmlChar('\0'));
  EXPECT_FALSE(IsXmlChar('\x1f'));
  EXPECT_TRUE(IsXmlChar('\n'));
  EXPECT_TRUE(IsXmlChar('\xC3'));
}

std::string Repeat(std::string_view piece, size_t n) {
  std::string out;
  out.reserve(piece.size() * n);
  for (size_t i = 0; i < n; ++i) out += piece;
  return out;
}

// Finding 9 of issue 18: a request body is bounded in elements and depth before pugixml
// builds a DOM of it, for each document the gateway parses.
TEST(LoadXmlTest, HugeFlatAndDeepBodiesAreMalformedXmlBeforeParsing) {
  std::string flat =
      "<CompleteMultipartUpload>" + Repeat("<Part/>", 200000) + "</CompleteMultipartUpload>";
  std::string deep = Repeat("<a>", 20000) + Repeat("</a>", 20000);
  pugi::xml_document doc;
  absl::Status s = LoadXml(doc, flat, kCompleteMultipartXml);
  EXPECT_EQ(CodeOf(s), S3Code::kMalformedXML);
  EXPECT_NE(s.message().find("more than 80016 elements"), std::string::npos) << s.message();
  EXPECT_FALSE(doc.first_child());  // nothing was built
  s = LoadXml(doc, deep, kCompleteMultipartXml);
  EXPECT_EQ(CodeOf(s), S3Code::kMalformedXML);
  EXPECT_NE(s.message().find("deeper than 16"), std::string::npos) << s.message();
  EXPECT_EQ(CodeOf(ParseCompleteRequest(flat).status()), S3Code::kMalformedXML);
  EXPECT_EQ(CodeOf(ParseCompleteRequest(deep).status()), S3Code::kMalformedXML);
  std::string tags = "<Tagging><TagSet>" + Repeat("<Tag><Key>k</Key><Value>v</Value></Tag>", 300) +
                     "</TagSet></Tagging>";
  s = TagsFromXml(tags).status();
  EXPECT_NE(s.message().find("more than 512 elements"), std::string::npos) << s.message();
  s = TagsFromXml("<Tagging><TagSet>" + Repeat("<Tag>", 40) + "</TagSet></Tagging>").status();
  EXPECT_NE(s.message().find("deeper than 16"), std::string::npos) << s.message();
}

TEST(LoadXmlTest, CommentsCdataAndAttributesAreNotElements) {
  std::string body = "<?xml version=\"1.0\"?><!-- <a><a><a> --><Delete a=\"x>y\" b='/>'>" +
                     Repeat("<![CDATA[<b><b>]]>", 50) + "<Object><Key>k</Key></Object></Delete>";
  pugi::xml_document doc;
  ASSERT_TRUE(LoadXml(doc, body, XmlLimits{.max_elements = 3, .max_depth = 3}).ok());
  EXPECT_STREQ(doc.child("Delete").child("Object").child_value("Key"), "k");
  EXPECT_FALSE(LoadXml(doc, body, XmlLimits{.max_elements = 2}).ok());
  EXPECT_FALSE(LoadXml(doc, body, XmlLimits{.max_elements = 3, .max_depth = 2}).ok());
  EXPECT_EQ(CodeOf(LoadXml(doc, "<a><b></a>", XmlLimits{8})), S3Code::kMalformedXML);
}

TEST(ErrorXmlTest, HasTheFourFields) {
  std::string xml =
      ErrorXml("NoSuchKey", "The specified key does not exist.", "/b/a<&>b", "0123456789ABCDEF");
  EXPECT_TRUE(xml.starts_with(kDeclaration)) << xml;
  pugi::xml_document parsed = Parse(xml);
  pugi::xml_node e = parsed.child("Error");
  ASSERT_TRUE(e);
  EXPECT_STREQ(e.child("Code").text().get(), "NoSuchKey");
  EXPECT_STREQ(e.child("Message").text().get(), "The specified key does not exist.");
  EXPECT_STREQ(e.child("Resource").text().get(), "/b/a<&>b");
  EXPECT_STREQ(e.child("RequestId").text().get(), "0123456789ABCDEF");
  EXPECT_EQ(std::distance(e.children().begin(), e.children().end()), 4);
}

TEST(ErrorXmlTest, DetailsFollowTheMessageInOrder) {
  absl::Status s = S3Error(S3Code::kInvalidRange);
  s = WithErrorDetail(std::move(s), "RangeRequested", "bytes=20-30");
  s = WithErrorDetail(std::move(s), "ActualObjectSize", "10");
  EXPECT_EQ(CodeOf(s), S3Code::kInvalidRange);
  pugi::xml_document parsed =
      Parse(ErrorXml("InvalidRange", std::string(s.message()), "/b/k", "ID", ErrorDetails(s)));
  std::vector<std::string> names;
  for (pugi::xml_node child : parsed.child("Error").children()) names.push_back(child.name());
  EXPECT_EQ(names, (std::vector<std::string>{"Code", "Message", "RangeRequested",
                                             "ActualObjectSize", "Resource", "RequestId"}));
  EXPECT_STREQ(parsed.child("Error").child("RangeRequested").text().get(), "bytes=20-30");
  EXPECT_STREQ(parsed.child("Error").child("ActualObjectSize").text().get(), "10");
  EXPECT_TRUE(ErrorDetails(S3Error(S3Code::kNoSuchKey)).empty());
}

// 2024-01-02T03:04:05.678Z
constexpr int64_t kMs = 1704164645678;

TEST(DatesTest, Iso8601) {
  EXPECT_EQ(Iso8601(kMs), "2024-01-02T03:04:05.678Z");
  EXPECT_EQ(Iso8601(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(Iso8601(1709164800000 + 1), "2024-02-29T00:00:00.001Z");
  EXPECT_EQ(Iso8601(4102444799999), "2099-12-31T23:59:59.999Z");
}

TEST(DatesTest, HttpDate) {
  EXPECT_EQ(HttpDate(kMs), "Tue, 02 Jan 2024 03:04:05 GMT");
  EXPECT_EQ(HttpDate(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(HttpDate(1709164800000), "Thu, 29 Feb 2024 00:00:00 GMT");
}

TEST(DatesTest, ParseHttpDateAcceptsTheThreeForms) {
  constexpr int64_t kSecondMs = kMs / 1000 * 1000;
  EXPECT_EQ(ParseHttpDate("Tue, 02 Jan 2024 03:04:05 GMT"), kSecondMs);
  EXPECT_EQ(ParseHttpDate("Tuesday, 02-Jan-24 03:04:05 GMT"), kSecondMs);
  EXPECT_EQ(ParseHttpDate("Tue Jan  2 03:04:05 2024"), kSecondMs);
  EXPECT_EQ(ParseHttpDate("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
}

TEST(DatesTest, HttpDateRoundTrips) {
  for (int64_t ms : {int64_t{0}, int64_t{999}, kMs, int64_t{951782400000} /* 2000-02-29 */,
                     int64_t{1709164800000}, int64_t{4102444799999}, int64_t{253402300799000}}) {
    EXPECT_EQ(ParseHttpDate(HttpDate(ms)), ms / 1000 * 1000) << HttpDate(ms);
  }
  for (int64_t s = 0; s < 4102444800; s += 86399 * 37) {
    EXPECT_EQ(ParseHttpDate(HttpDate(s * 1000)), s * 1000) << HttpDate(s * 1000);
  }
}

TEST(DatesTest, ParseHttpDateRejectsGarbage) {
  for (const char* text :
       {"", " ", "GMT", "yesterday", "2024-01-02T03:04:05Z", "2024-01-02T03:04:05.678Z",
        "Tue, 02 Jan 2024 03:04:05", "Tue, 02 Jan 2024 03:04:05 GMT trailing",
        "Tue, 02 Foo 2024 03:04:05 GMT", "Tue, 32 Jan 2024 03:04:05 GMT",
        "Tue, 02 Jan 2024 24:04:05 GMT", "Tue, 02 Jan 2024 03:60:05 GMT",
        "Tue, 02 Jan 2024 03:04 GMT", "Tue, 02 Jan 2024 03:04:05 PST", "1704164645"}) {
    EXPECT_EQ(ParseHttpDate(text), -1) << "\"" << text << "\"";
  }
}

TEST(DatesTest, NowIsAfterThisCodeWasWritten) {
  EXPECT_GT(NowMs(), kMs);
  EXPECT_LT(NowMs(), int64_t{4102444800000});
}

}  // namespace
}  // namespace mosaic::gateway
