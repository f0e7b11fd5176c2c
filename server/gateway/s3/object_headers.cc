#include "server/gateway/s3/object_headers.h"

#include <algorithm>
#include <iterator>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "common/bytes.h"
#include "common/status.h"
#include "server/gateway/s3/errors.h"
#include "server/gateway/s3/xml.h"

namespace mosaic::gateway {
namespace {

constexpr size_t kMaxUserMetadataBytes = 2048;

struct StoredHeader {
  const char* name;      // lower-case request header
  const char* response;  // response header
  const char* override_param;
};
constexpr StoredHeader kStored[] = {
    {"content-type", "Content-Type", "response-content-type"},
    {"content-encoding", "Content-Encoding", "response-content-encoding"},
    {"content-disposition", "Content-Disposition", "response-content-disposition"},
    {"content-language", "Content-Language", "response-content-language"},
    {"cache-control", "Cache-Control", "response-cache-control"},
    {"expires", "Expires", "response-expires"},
    {kRedirectHeader, kRedirectHeader, nullptr},
};
constexpr size_t kMaxRedirectBytes = 2048;

// Content-Encoding without "aws-chunked", which names the framing of this request's body
// and not the object's encoding: S3 stores "gzip, aws-chunked" as "gzip" ("" when nothing
// else is left).
std::string StoredContentEncoding(std::string_view value) {
  std::string out;
  for (absl::string_view token : absl::StrSplit(ToAbsl(value), ',')) {
    absl::string_view t = absl::StripAsciiWhitespace(token);
    if (t.empty() || absl::EqualsIgnoreCase(t, "aws-chunked")) continue;
    if (!out.empty()) out += ", ";
    out.append(t.data(), t.size());
  }
  return out;
}

}  // namespace

absl::StatusOr<std::optional<std::string>> RedirectLocation(const RequestView& request) {
  if (!request.HasHeader(kRedirectHeader)) return std::nullopt;
  std::string value(request.Header(kRedirectHeader));
  bool prefixed =
      value.starts_with("/") || value.starts_with("http://") || value.starts_with("https://");
  if (!prefixed || value.size() > kMaxRedirectBytes || !IsSafeHeaderValue(value)) {
    return S3Error(S3Code::kInvalidRedirectLocation);
  }
  return value;
}

absl::StatusOr<v1::ObjectRecord> RecordFromHeaders(const RequestView& request) {
  v1::ObjectRecord record;
  size_t user_bytes = 0;
  for (const auto& header : request.headers) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
    const std::string& name = header.first;
    const std::string& value = header.second;
    bool stored = name.starts_with("x-amz-meta-") ||
                  std::any_of(std::begin(kStored), std::end(kStored),
                              [&](const StoredHeader& h) { return name == h.name; });
    // Stored headers are written back on every GET: never one that could split a response.
    if (stored && !IsSafeHeaderValue(value)) {
      return S3Error(S3Code::kInvalidArgument,
                     "The header " + name + " contains a control character");
    }
    if (name == "content-encoding") {
      std::string kept = StoredContentEncoding(value);
      if (!kept.empty()) (*record.mutable_headers())[name] = kept;
      continue;
    }
    for (const StoredHeader& h : kStored) {
      if (name == h.name) (*record.mutable_headers())[name] = value;
    }
    if (name.starts_with("x-amz-meta-")) {
      std::string key = name.substr(11);
      user_bytes += key.size() + value.size();
      (*record.mutable_user_metadata())[key] = value;
    }
  }
  if (user_bytes > kMaxUserMetadataBytes) return S3Error(S3Code::kMetadataTooLarge);
  RETURN_IF_ERROR(RedirectLocation(request).status());
  if (!record.headers().contains("content-type")) {
    (*record.mutable_headers())["content-type"] = "binary/octet-stream";
  }
  return record;
}

void SetObjectHeaders(Exchange& ex, const v1::ObjectRecord& record,
                      const std::map<std::string, std::string>& query) {
  for (const StoredHeader& h : kStored) {
    auto over = h.override_param ? query.find(h.override_param) : query.end();
    if (over != query.end()) {
      ex.SetHeader(h.response, over->second);
    } else if (auto it = record.headers().find(h.name); it != record.headers().end()) {
      ex.SetHeader(h.response, it->second);
    }
  }
  for (const auto& [key, value] : record.user_metadata()) ex.SetHeader("x-amz-meta-" + key, value);
  ex.SetHeader("ETag", "\"" + record.etag() + "\"");
  ex.SetHeader("Last-Modified", HttpDate(record.last_modified_ms()));
  ex.SetHeader("Accept-Ranges", "bytes");
  if (record.tags_size() > 0) {
    ex.SetHeader("x-amz-tagging-count", std::to_string(record.tags_size()));
  }
}

}  // namespace mosaic::gateway
