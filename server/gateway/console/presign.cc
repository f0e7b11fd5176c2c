#include "server/gateway/console/presign.h"

#include <ctime>

#include "common/status.h"
#include "server/gateway/http/request.h"
#include "server/gateway/s3/sigv4.h"

namespace mosaic::gateway::console {
namespace {

std::string AmzDate(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

}  // namespace

absl::StatusOr<std::string> PresignGet(const PresignRequest& r) {
  std::string_view endpoint = r.endpoint;
  while (endpoint.ends_with('/')) endpoint.remove_suffix(1);
  size_t scheme = endpoint.find("://");
  std::string_view host =
      scheme == std::string_view::npos ? std::string_view() : endpoint.substr(scheme + 3);
  if (!(endpoint.starts_with("http://") || endpoint.starts_with("https://")) || host.empty() ||
      host.find('/') != std::string_view::npos) {
    return absl::InvalidArgumentError("public_s3_url must be http(s)://host[:port]: \"" +
                                      r.endpoint + "\"");
  }
  if (r.expires_s < 1 || r.expires_s > kMaxShareSeconds) {
    return absl::InvalidArgumentError("a share link expires within 1 s to 7 days");
  }
  std::string datetime = AmzDate(r.now);
  std::string date = datetime.substr(0, 8);
  std::string scope = date + "/" + r.region + "/s3/aws4_request";
  std::string path = "/" + r.bucket + "/" + UriEncode(r.key, true);
  std::string query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" +
                      UriEncode(r.access_key_id + "/" + scope, false) + "&X-Amz-Date=" + datetime +
                      "&X-Amz-Expires=" + std::to_string(r.expires_s) + "&X-Amz-SignedHeaders=host";
  RequestView view{"GET", path + "?" + query, {{"host", std::string(host)}}};
  ASSIGN_OR_RETURN(std::string canonical,
                   CanonicalRequest(view, ReencodedPath(path), {"host"}, "UNSIGNED-PAYLOAD", true));
  std::string signature = HmacSha256Hex(DeriveSigningKey(r.secret, date, r.region, "s3"),
                                        StringToSign(datetime, scope, canonical));
  return std::string(endpoint) + path + "?" + query + "&X-Amz-Signature=" + signature;
}

}  // namespace mosaic::gateway::console
