#pragma once
// Pieces of GetObject exposed for unit tests.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "server/gateway/s3/request.h"

namespace mosaic::gateway {

struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;  // inclusive
};

// The Range header for an object of `size` bytes: nullopt when absent or not a single
// well-formed byte range (then the whole object is served); InvalidRange when it cannot be
// satisfied.
[[nodiscard]] absl::StatusOr<std::optional<ByteRange>> ParseRange(std::string_view header,
                                                                  uint64_t size);

// Whether the entity-tag list `header` ("*", or "a", W/"b", …) matches `etag` (unquoted).
// `strong` for If-Match (a weak tag never matches, RFC 7232 §3.1); If-None-Match compares
// weakly (§3.2).
bool EtagMatches(std::string_view header, const std::string& etag, bool strong);

// If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since against the object:
// PreconditionFailed (412) or NotModified (304), else OK.
[[nodiscard]] absl::Status CheckConditions(const RequestView& request, const std::string& etag,
                                           int64_t last_modified_ms);

}  // namespace mosaic::gateway
