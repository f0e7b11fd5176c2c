#pragma once
// Share links (issue 15): a presigned SigV4 GET URL for one object, as any S3 client makes
// them, signed here with an access key made for the link (console/member_api.cc).

#include <chrono>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace mosaic::gateway::console {

inline constexpr int64_t kMaxShareSeconds = 7 * 24 * 3600;  // S3's limit for presigned URLs

struct PresignRequest {
  std::string endpoint;  // "http://host:port" or "https://host", no path: public_s3_url
  std::string bucket;
  std::string key;  // as stored (not encoded)
  std::string access_key_id;
  std::string secret;
  std::string region;
  int64_t expires_s = 3600;  // 1..kMaxShareSeconds
  std::chrono::system_clock::time_point now;
};

// The presigned URL (path-style). INVALID_ARGUMENT for an endpoint that is not http(s)://host
// or an expiry outside 1..kMaxShareSeconds.
[[nodiscard]] absl::StatusOr<std::string> PresignGet(const PresignRequest& r);

}  // namespace mosaic::gateway::console
