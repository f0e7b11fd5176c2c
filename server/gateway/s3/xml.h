#pragma once
// S3 XML documents: a thin builder over pugixml, the error document, and the date formats
// S3 uses.

#include <cstdint>
#include <string>
#include <string_view>

#include <pugixml.hpp>

namespace mosaic::gateway {

inline constexpr char kS3Namespace[] = "http://s3.amazonaws.com/doc/2006-03-01/";

// A document with root `root` in the S3 namespace.
class XmlDoc {
 public:
  explicit XmlDoc(const char* root);
  pugi::xml_node root() { return root_; }
  // Appends <name>text</name> to `parent`.
  static pugi::xml_node Add(pugi::xml_node parent, const char* name, std::string_view text);
  std::string ToString() const;

 private:
  pugi::xml_document doc_;
  pugi::xml_node root_;
};

std::string ErrorXml(std::string_view code, std::string_view message, std::string_view resource,
                     std::string_view request_id);

// 2024-01-02T03:04:05.000Z
std::string Iso8601(int64_t unix_ms);
// Tue, 02 Jan 2024 03:04:05 GMT
std::string HttpDate(int64_t unix_ms);
// Parses an HTTP date (RFC 7231 IMF-fixdate; also RFC 850 and asctime forms); -1 if invalid.
int64_t ParseHttpDate(std::string_view text);
int64_t NowMs();

}  // namespace mosaic::gateway
