// Fuzz target: the XML request bodies the gateway parses. Byte 0 picks the parser:
// CompleteMultipartUpload, DeleteObjects, tagging, CreateBucketConfiguration. Checks the
// limits each parser promises on what it accepts.

#include <cstdint>
#include <string>

#include "bench/fuzz/fuzz_input.h"
#include "common/check.h"
#include "server/gateway/s3/bucket.h"
#include "server/gateway/s3/delete.h"
#include "server/gateway/s3/multipart.h"
#include "server/gateway/s3/tagging.h"

namespace {

using namespace mosaic::gateway;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mosaic::fuzz::FuzzInput in(data, size);
  uint8_t selector = in.Byte();
  std::string_view body = in.Rest();
  switch (selector % 4) {
    case 0: {
      auto parts = ParseCompleteRequest(body);
      if (parts.ok()) {
        CHECK(!parts->empty() && parts->size() <= kMaxPartNumber);
      }
      break;
    }
    case 1: {
      auto request = ParseDelete(body);
      if (request.ok()) CHECK(!request->entries.empty() && request->entries.size() <= 1000);
      break;
    }
    case 3: {
      // What is accepted is echoed in a header and stored: a short region name only.
      auto location = ParseCreateBucketConfiguration(body);
      if (location.ok()) {
        CHECK(location->size() <= 64);
        CHECK(location->find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") ==
              std::string::npos);
      }
      break;
    }
    default: {
      auto tags = TagsFromXml(body);
      if (tags.ok()) CHECK(ValidateTags(*tags).ok() && tags->size() <= kMaxTags);
      break;
    }
  }
  return 0;
}
