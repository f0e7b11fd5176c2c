#include "server/gateway/s3/xml.h"

#include <chrono>
#include <ctime>
#include <sstream>

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
  n.append_child(pugi::node_pcdata).set_value(std::string(text).c_str());
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

std::string ErrorXml(std::string_view code, std::string_view message, std::string_view resource,
                     std::string_view request_id) {
  pugi::xml_document doc;
  auto decl = doc.append_child(pugi::node_declaration);
  decl.append_attribute("version") = "1.0";
  decl.append_attribute("encoding") = "UTF-8";
  pugi::xml_node e = doc.append_child("Error");
  XmlDoc::Add(e, "Code", code);
  XmlDoc::Add(e, "Message", message);
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
  for (const char* format : {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT",
                             "%a %b %d %H:%M:%S %Y"}) {
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
