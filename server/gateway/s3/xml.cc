#include "server/gateway/s3/xml.h"

#include <chrono>
#include <ctime>
#include <sstream>

#include "server/gateway/s3/errors.h"

namespace mosaic::gateway {

XmlDoc::XmlDoc(const char* root) {
  auto decl = doc_.append_child(pugi::node_declaration);
  decl.append_attribute("version") = "1.0";
  decl.append_attribute("encoding") = "UTF-8";
  root_ = doc_.append_child(root);
  root_.append_attribute("xmlns") = kS3Namespace;
}

pugi::xml_node XmlDoc::Add(pugi::xml_node parent, const char* name, std::string_view text) {
  pugi::xml_node n = parent.append_child(name);
  std::string safe;
  safe.reserve(text.size());
  for (char c : text) {
    if (c == '\0') {
      safe += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
    } else {
      safe.push_back(c);
    }
  }
  n.append_child(pugi::node_pcdata).set_value(safe.c_str(), safe.size());
  return n;
}

namespace {

// pugixml writes a carriage return in text as itself, and every XML parser reads it back as
// a line feed (XML 1.0 §2.11): a key "a\rb" would be listed as "a\nb". Written as a character
// reference it survives. Only text can hold a raw CR here (pugixml escapes it in attributes).
std::string Serialize(const pugi::xml_document& doc) {
  std::ostringstream out;
  doc.save(out, "", pugi::format_raw);
  std::string raw = out.str();
  std::string xml;
  xml.reserve(raw.size());
  for (char c : raw) {
    if (c == '\r') {
      xml += "&#13;";
    } else {
      xml.push_back(c);
    }
  }
  return xml;
}

}  // namespace

std::string XmlDoc::ToString() const { return Serialize(doc_); }

namespace {

// Skips from `at` past the next `end`; npos when it never comes.
size_t SkipPast(std::string_view body, size_t at, std::string_view end) {
  size_t found = body.find(end, at);
  return found == std::string_view::npos ? found : found + end.size();
}

// The end of the tag starting at `at` ('<'): past its '>', quoted attribute values skipped.
size_t TagEnd(std::string_view body, size_t at, bool* self_closing) {
  char quote = 0;
  for (size_t i = at + 1; i < body.size(); ++i) {
    char c = body[i];
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '>') {
      *self_closing = body[i - 1] == '/';
      return i + 1;
    }
  }
  return std::string_view::npos;
}

}  // namespace

// Counts start tags and nesting the way pugixml will build them: comments, CDATA, processing
// instructions and the DOCTYPE are skipped as whole constructs, so a '<' inside them is no
// element. A body this scan misreads is one pugixml refuses anyway.
absl::Status LoadXml(pugi::xml_document& doc, std::string_view body, XmlLimits limits,
                     unsigned options) {
  size_t elements = 0, depth = 0;
  for (size_t at = body.find('<'); at != std::string_view::npos; at = body.find('<', at)) {
    std::string_view rest = body.substr(at);
    if (rest.starts_with("<!--")) {
      at = SkipPast(body, at + 4, "-->");
    } else if (rest.starts_with("<![CDATA[")) {
      at = SkipPast(body, at + 9, "]]>");
    } else if (rest.starts_with("<?")) {
      at = SkipPast(body, at + 2, "?>");
    } else if (rest.starts_with("<!") || rest.starts_with("</")) {
      if (rest.starts_with("</") && depth > 0) --depth;
      at = SkipPast(body, at + 2, ">");
    } else {
      bool self_closing = false;
      at = TagEnd(body, at, &self_closing);
      if (++elements > limits.max_elements) {
        return S3Error(
            S3Code::kMalformedXML,
            "The XML document has more than " + std::to_string(limits.max_elements) + " elements");
      }
      if (!self_closing && ++depth > limits.max_depth) {
        return S3Error(S3Code::kMalformedXML, "The XML document nests deeper than " +
                                                  std::to_string(limits.max_depth) + " levels");
      }
    }
    if (at == std::string_view::npos) break;  // unterminated: pugixml says so below
  }
  if (!doc.load_buffer(body.data(), body.size(), options)) {
    return S3Error(S3Code::kMalformedXML);
  }
  return absl::OkStatus();
}

std::string ErrorXml(std::string_view code, std::string_view message, std::string_view resource,
                     std::string_view request_id,
                     const std::vector<std::pair<std::string, std::string>>& details) {
  pugi::xml_document doc;
  auto decl = doc.append_child(pugi::node_declaration);
  decl.append_attribute("version") = "1.0";
  decl.append_attribute("encoding") = "UTF-8";
  pugi::xml_node e = doc.append_child("Error");
  XmlDoc::Add(e, "Code", code);
  XmlDoc::Add(e, "Message", message);
  for (const auto& [name, value] : details) XmlDoc::Add(e, name.c_str(), value);
  XmlDoc::Add(e, "Resource", resource);
  XmlDoc::Add(e, "RequestId", request_id);
  return Serialize(doc);
}

namespace {

std::tm Utc(int64_t unix_ms) {
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

}  // namespace

std::string Iso8601(int64_t unix_ms) {
  std::tm tm = Utc(unix_ms);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(unix_ms % 1000));
  return buf;
}

std::string HttpDate(int64_t unix_ms) {
  std::tm tm = Utc(unix_ms);
  char buf[40];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

int64_t ParseHttpDate(std::string_view text) {
  std::string s(text);
  for (const char* format :
       {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %d %H:%M:%S %Y"}) {
    std::tm tm{};
    const char* end = strptime(s.c_str(), format, &tm);
    if (end != nullptr && *end == '\0') return static_cast<int64_t>(timegm(&tm)) * 1000;
  }
  return -1;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace mosaic::gateway
