// Fuzz target: the XML request bodies the gateway parses. Byte 0 picks the parser:
// CompleteMultipartUpload, DeleteObjects, tagging. (CreateBucketConfiguration is read inside
// its handler and only for its LocationConstraint: not reached here.) Checks the limits each
// parser promises on what it accepts.

#include <cstdint>
#include <string>

#include "bench/fuzz/fuzz_input.h"
#include "common/check.h"
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
  switch (selector % 3) {
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
    default: {
      auto tags = TagsFromXml(body);
      if (tags.ok()) CHECK(ValidateTags(*tags).ok() && tags->size() <= kMaxTags);
      break;
    }
  }
  return 0;
}
