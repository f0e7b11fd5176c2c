// Fuzz target: SigV4 verification of a request head given as text: the method on the first
// line, the raw target on the second, then "name: value" headers. Reaches the Authorization
// header parser, the presigned query parser, the canonical request (path re-encoding, query
// sorting, signed headers) and the payload modes; the signature itself cannot be forged, so
// an accepted request must name the one known key.

#include <chrono>
#include <cstdint>
#include <string>

#include "bench/fuzz/fuzz_input.h"
#include "common/check.h"
#include "server/gateway/s3/sigv4.h"

namespace {

using namespace mosaic::gateway;

constexpr char kKeyId[] = "AKIAIOSFODNN7EXAMPLE";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mosaic::fuzz::FuzzInput in(data, size);
  RequestView view;
  view.method = std::string(in.Until('\n'));
  view.target = std::string(in.Until('\n'));
  view.headers = mosaic::fuzz::HeaderLines(in.Rest());
  SecretLookup lookup = [](const std::string& id) -> absl::StatusOr<std::string> {
    if (id == kKeyId) return std::string("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    return absl::PermissionDeniedError("no such key");
  };
  auto now = std::chrono::system_clock::from_time_t(1369353600);  // 2013-05-24T00:00:00Z
  auto auth = VerifyRequest(view, lookup, now, "us-east-1");
  if (auth.ok()) CHECK(auth->access_key_id == kKeyId);
  std::vector<std::string> signed_headers;
  for (const auto& [name, value] : view.headers) signed_headers.push_back(name);
  (void)CanonicalRequest(view, ReencodedPath(view.RawPath()), signed_headers, kEmptySha256Hex,
                         false);
  (void)CanonicalRequest(view, ReencodedPath(view.RawPath()), signed_headers, "UNSIGNED-PAYLOAD",
                         true);
  return 0;
}
