// Fuzz target: single header and query values a client controls, each through its parser.
// The first byte picks the parser; the rest is the value. Checks the parsers' promises
// (a range inside the object, encode/decode round trips), not only that they return.

#include <cstdint>
#include <string>

#include "bench/fuzz/fuzz_input.h"
#include "common/check.h"
#include "server/gateway/s3/attributes.h"
#include "server/gateway/s3/checksum.h"
#include "server/gateway/s3/multipart.h"
#include "server/gateway/s3/object_checksum.h"
#include "server/gateway/s3/object_get.h"
#include "server/gateway/s3/router.h"
#include "server/gateway/s3/sigv4.h"
#include "server/gateway/s3/tagging.h"
#include "server/gateway/s3/xml.h"

namespace {

using namespace mosaic::gateway;

void Ranges(mosaic::fuzz::FuzzInput& in) {
  uint64_t size = in.U64() >> (in.Byte() % 64);
  std::string_view value = in.Rest();
  auto range = ParseRange(value, size);
  if (range.ok() && range->has_value()) {
    CHECK((*range)->first <= (*range)->last && (*range)->last < size);
  }
  auto copy = ParseCopySourceRange(value, size);
  if (copy.ok()) CHECK(copy->first <= copy->last && copy->last < size);
}

void Checksums(std::string_view value) {
  for (auto alg :
       {ChecksumAlgorithm::kCrc32, ChecksumAlgorithm::kCrc32c, ChecksumAlgorithm::kCrc64Nvme,
        ChecksumAlgorithm::kSha1, ChecksumAlgorithm::kSha256, ChecksumAlgorithm::kMd5}) {
    auto digest = ParseDigest(alg, value);
    if (digest.ok()) CHECK(digest->size() == DigestSizeOf(alg));
  }
  auto decoded = Base64Decode(value);
  if (decoded.ok()) CHECK(*Base64Decode(Base64Encode(*decoded)) == *decoded);
  (void)AlgorithmFromName(value);
  (void)AlgorithmFromHeaderName(value);
}

void Encodings(std::string_view value) {
  for (bool plus : {false, true}) {
    auto decoded = mosaic::gateway::PercentDecode(value, plus);
    if (decoded.ok())
      CHECK(*mosaic::gateway::PercentDecode(UriEncode(*decoded, false), plus) == *decoded);
  }
  auto sig_decoded = mosaic::gateway::PercentDecode(value);
  if (sig_decoded)
    CHECK(mosaic::gateway::PercentDecode(UriEncode(*sig_decoded, true)) == sig_decoded);
  (void)CanonicalQueryString(value, false);
  (void)CanonicalQueryString(value, true);
  (void)ReencodedPath(value);
}

void Dates(std::string_view value) {
  (void)ParseHttpDate(value);
  (void)ParseAmzDate(value);
  RequestView view;
  view.method = "GET";
  view.target = "/b/k";
  for (const char* name :
       {"if-match", "if-none-match", "if-modified-since", "if-unmodified-since"}) {
    view.headers.emplace_back(name, std::string(value));
    (void)CheckConditions(view, "d41d8cd98f00b204e9800998ecf8427e", 1369353600000);
  }
}

void Attributes(std::string_view value) {
  RequestView view;
  view.method = "GET";
  view.target = "/b/k?attributes";
  view.headers = mosaic::fuzz::HeaderLines(value);
  (void)ParseAttributesRequest(view);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mosaic::fuzz::FuzzInput in(data, size);
  switch (in.Byte() % 8) {
    case 0:
      Ranges(in);
      break;
    case 1:
      Checksums(in.Rest());
      break;
    case 2:
      Encodings(in.Rest());
      break;
    case 3:
      Dates(in.Rest());
      break;
    case 4:
      (void)TagsFromHeader(in.Rest());
      break;
    case 5:
      (void)ParseCopySource(in.Rest());
      break;
    case 6:
      (void)ParsePartNumber(in.Rest());
      break;
    default:
      Attributes(in.Rest());
      break;
  }
  return 0;
}
