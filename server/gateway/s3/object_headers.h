#pragma once
// The headers S3 stores with an object and returns with it: Content-Type,
// Content-Encoding, Content-Disposition, Content-Language, Cache-Control, Expires,
// x-amz-website-redirect-location, and user metadata (x-amz-meta-*, at most 2 KiB in all, as
// S3).

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/http/exchange.h"
#include "server/gateway/s3/request.h"

namespace mosaic::gateway {

// A record holding the request's stored headers and user metadata. MetadataTooLarge over
// 2 KiB of user metadata; InvalidArgument for a stored header or metadata value with a
// control character (it would be written back as a response header).
[[nodiscard]] absl::StatusOr<v1::ObjectRecord> RecordFromHeaders(const RequestView& request);

// The x-amz-website-redirect-location of a write, nullopt without one. S3 keeps it for a
// website endpoint (which Mosaic has not) and returns it on GET and HEAD; it must start with
// "/", "http://" or "https://" and be at most 2 KiB: InvalidRedirectLocation otherwise.
inline constexpr char kRedirectHeader[] = "x-amz-website-redirect-location";
[[nodiscard]] absl::StatusOr<std::optional<std::string>> RedirectLocation(
    const RequestView& request);

// Sets the stored headers, user metadata, ETag and Last-Modified on the response, applying
// response-* overrides from the query (GetObject).
void SetObjectHeaders(Exchange& ex, const v1::ObjectRecord& record,
                      const std::map<std::string, std::string>& query);

}  // namespace mosaic::gateway
