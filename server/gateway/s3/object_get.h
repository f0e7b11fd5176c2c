#pragma once
// Pieces of GetObject exposed for unit tests.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "proto/mosaic/v1/meta.pb.h"
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

// The parts [first, last) of `record` (as stored: parts by piece id and size) whose pieces a
// GET with this Range header or ?partNumber (nullopt: none) reads, so that only those are
// hydrated (issue 14). Every part when a part's size is not stored (records written before
// sizes were) or the request is malformed (its error comes from the whole record).
std::pair<int, int> PartsRead(const v1::ObjectRecord& record, std::string_view range,
                              std::optional<std::string_view> part_number);

// Whether the entity-tag list `header` ("*", or "a", W/"b", …) matches `etag` (unquoted).
// `strong` for If-Match (a weak tag never matches, RFC 7232 §3.1); If-None-Match compares
// weakly (§3.2).
bool EtagMatches(std::string_view header, const std::string& etag, bool strong);

// If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since against the object:
// PreconditionFailed (412) or NotModified (304), else OK.
[[nodiscard]] absl::Status CheckConditions(const RequestView& request, const std::string& etag,
                                           int64_t last_modified_ms);

}  // namespace mosaic::gateway
