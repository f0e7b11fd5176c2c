#include "server/gateway/s3/xml.h"

#include <gtest/gtest.h>

#include <string>

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

TEST(ErrorXmlTest, HasTheFourFields) {
  std::string xml = ErrorXml("NoSuchKey", "The specified key does not exist.", "/b/a<&>b",
                             "0123456789ABCDEF");
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
  for (const char* text : {"", " ", "GMT", "yesterday", "2024-01-02T03:04:05Z",
                           "2024-01-02T03:04:05.678Z", "Tue, 02 Jan 2024 03:04:05",
                           "Tue, 02 Jan 2024 03:04:05 GMT trailing", "Tue, 02 Foo 2024 03:04:05 GMT",
                           "Tue, 32 Jan 2024 03:04:05 GMT", "Tue, 02 Jan 2024 24:04:05 GMT",
                           "Tue, 02 Jan 2024 03:60:05 GMT", "Tue, 02 Jan 2024 03:04 GMT",
                           "Tue, 02 Jan 2024 03:04:05 PST", "1704164645"}) {
    EXPECT_EQ(ParseHttpDate(text), -1) << "\"" << text << "\"";
  }
}

TEST(DatesTest, NowIsAfterThisCodeWasWritten) {
  EXPECT_GT(NowMs(), kMs);
  EXPECT_LT(NowMs(), int64_t{4102444800000});
}

}  // namespace
}  // namespace mosaic::gateway
