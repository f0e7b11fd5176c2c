#pragma once
// S3 XML documents: a thin builder over pugixml, the error document, and the date formats
// S3 uses.

#include <cstdint>
#include <pugixml.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace mosaic::gateway {

inline constexpr char kS3Namespace[] = "http://s3.amazonaws.com/doc/2006-03-01/";

// A document with root `root` in the S3 namespace.
class XmlDoc {
 public:
  explicit XmlDoc(const char* root);
  pugi::xml_node root() { return root_; }
  // Appends <name>text</name> to `parent`. Controls are written as character references
  // (pugixml); a NUL, which would end the text there, as U+FFFD. The router refuses the
  // characters XML 1.0 cannot carry (IsXmlChar) in keys and query values, so only data
  // stored before it did meets either.
  static pugi::xml_node Add(pugi::xml_node parent, const char* name, std::string_view text);
  std::string ToString() const;

 private:
  pugi::xml_document doc_;
  pugi::xml_node root_;
};

// False for the ASCII controls XML 1.0 forbids (all below U+0020 but tab, LF and CR).
inline bool IsXmlChar(char c) {
  auto u = static_cast<unsigned char>(c);
  return u >= 0x20 || c == '\t' || c == '\n' || c == '\r';
}

// Bounds on an XML request body, checked by a scan of its bytes before any DOM is built: a
// body within the byte limit of its operation could still make a million nodes, or nest deep
// enough to make walking it costly.
struct XmlLimits {
  size_t max_elements;
  size_t max_depth = 16;  // S3's request documents nest 4 levels at most
};
inline constexpr XmlLimits kCompleteMultipartXml{10000 * 8 + 16};  // 10,000 parts, 7 fields
inline constexpr XmlLimits kDeleteObjectsXml{1000 * 6 + 16};       // 1,000 objects, 5 fields
inline constexpr XmlLimits kTaggingXml{512};                       // ValidateTags bounds them
inline constexpr XmlLimits kSmallConfigXml{64};                    // CreateBucketConfiguration
// 1,000 rules of at most 20 elements and 10 tags (Tag, Key, Value) each.
inline constexpr XmlLimits kLifecycleXml{1000 * 50 + 16};

// Parses `body` into `doc` (pugixml `options`) once it is within `limits`. MalformedXML
// saying which limit a body passes, or that it does not parse.
[[nodiscard]] absl::Status LoadXml(pugi::xml_document& doc, std::string_view body, XmlLimits limits,
                                   unsigned options = pugi::parse_default);

// `details` are more elements after Message (RangeRequested, ActualObjectSize, …).
std::string ErrorXml(std::string_view code, std::string_view message, std::string_view resource,
                     std::string_view request_id,
                     const std::vector<std::pair<std::string, std::string>>& details = {});

// 2024-01-02T03:04:05.000Z
std::string Iso8601(int64_t unix_ms);
// Tue, 02 Jan 2024 03:04:05 GMT
std::string HttpDate(int64_t unix_ms);
// Parses an HTTP date (RFC 7231 IMF-fixdate; also RFC 850 and asctime forms); -1 if invalid.
int64_t ParseHttpDate(std::string_view text);
int64_t NowMs();

}  // namespace mosaic::gateway
