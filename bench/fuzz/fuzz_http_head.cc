// Fuzz target: an HTTP request head from the network, through the Beast parser with the
// gateway's limits (http/server.cc: header_limit = HttpLimits::max_header_bytes, no body
// limit), then what the gateway does with the head before any handler: the router (bucket,
// key, query, percent-decoding), SigV4 verification (header and presigned), and the header
// parsers a GET or PUT runs (Range, conditions, stored headers and metadata, copy source).

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <string>

#include "absl/strings/ascii.h"
#include "common/check.h"
#include "server/gateway/http/server.h"
#include "server/gateway/s3/multipart.h"
#include "server/gateway/s3/object_get.h"
#include "server/gateway/s3/object_headers.h"
#include "server/gateway/s3/router.h"
#include "server/gateway/s3/sigv4.h"

namespace {

namespace http = boost::beast::http;
using namespace mosaic::gateway;

RequestView ViewOf(const http::request<http::buffer_body>& req) {
  RequestView view;
  view.method = std::string(req.method_string());
  view.target = std::string(req.target());
  for (const auto& field : req) {
    std::string name(field.name_string());
    absl::AsciiStrToLower(&name);
    view.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  return view;
}

void AfterRouting(const RequestView& view) {
  // A fixed clock (the AWS examples' day) and one known key, so that signatures can verify.
  auto now = std::chrono::system_clock::from_time_t(1369353600);  // 2013-05-24T00:00:00Z
  SecretLookup lookup = [](const std::string& id) -> absl::StatusOr<std::string> {
    if (id == "AKIAIOSFODNN7EXAMPLE")
      return std::string("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    return absl::PermissionDeniedError("no such key");
  };
  (void)VerifyRequest(view, lookup, now, "us-east-1");
  for (uint64_t size : {uint64_t{0}, uint64_t{1}, uint64_t{1000}, ~uint64_t{0}}) {
    auto range = ParseRange(view.Header("range"), size);
    if (range.ok() && range->has_value()) {
      CHECK((*range)->first <= (*range)->last && (*range)->last < size);
    }
    auto copy_range = ParseCopySourceRange(view.Header("x-amz-copy-source-range"), size);
    if (copy_range.ok()) CHECK(copy_range->first <= copy_range->last && copy_range->last < size);
  }
  (void)CheckConditions(view, "d41d8cd98f00b204e9800998ecf8427e", 1369353600000);
  (void)RecordFromHeaders(view);
  (void)ParseCopySource(view.Header("x-amz-copy-source"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  http::request_parser<http::buffer_body> parser;
  parser.header_limit(static_cast<uint32_t>(HttpLimits{}.max_header_bytes));
  parser.body_limit(boost::none);
  boost::beast::error_code ec;
  // Fed in two pieces, as a head arriving in two reads would be.
  size_t split = size / 2;
  size_t used = parser.put(boost::asio::buffer(data, split), ec);
  if (ec == http::error::need_more) ec = {};
  if (!ec && !parser.is_header_done()) {
    used += parser.put(boost::asio::buffer(data + used, size - used), ec);
  }
  if (ec || !parser.is_header_done()) return 0;
  RequestView view = ViewOf(parser.get());
  (void)Route(view, "s3.example.com");
  AfterRouting(view);
  return 0;
}
