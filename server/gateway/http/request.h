#pragma once
// A read-only view of an HTTP request's head as the S3 layer needs it: method, the raw
// request target exactly as sent (percent-encoding untouched: SigV4 signs it), and headers
// with lower-case names. Built by the HTTP layer; owns copies of its strings. Knows nothing
// of S3: server/gateway/http/ never includes server/gateway/s3/ (cmake/check_layering.py).

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mosaic::gateway {

// True when `value` can be written as an HTTP header value: no control character but HTAB
// (RFC 9110 §5.5). A CR or LF would end the header and let the value write headers or a
// body of its own (response splitting); other controls are refused by clients.
inline bool IsSafeHeaderValue(std::string_view value) {
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return false;
  }
  return true;
}

struct RequestView {
  std::string method;  // "GET", "PUT", …
  std::string target;  // "/bucket/key%20name?list-type=2&prefix=a" as received
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names, raw values

  // The first value of header `name` (lower-case), or "" when absent.
  std::string_view Header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return {};
  }
  bool HasHeader(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return true;
    }
    return false;
  }
  // The path part of the target (before '?'), still percent-encoded.
  std::string_view RawPath() const {
    std::string_view t = target;
    return t.substr(0, t.find('?'));
  }
  // The query part of the target (after '?'), still percent-encoded; "" when absent.
  std::string_view RawQuery() const {
    std::string_view t = target;
    size_t q = t.find('?');
    return q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
  }
};

}  // namespace mosaic::gateway
