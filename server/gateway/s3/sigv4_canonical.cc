// The SigV4 building blocks: encoding, canonical request, string to sign, key derivation and
// the chunk and trailer signatures. Declared in sigv4.h.

#include <openssl/hmac.h>

#include <algorithm>
#include <utility>

#include "common/bytes.h"
#include "common/check.h"
#include "common/sha256.h"
#include "server/gateway/s3/errors.h"
#include "server/gateway/s3/sigv4.h"

namespace mosaic::gateway {
namespace {

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Sha256HexOf(std::string_view data) { return Sha256Hex(AsBytes(data)); }

std::array<uint8_t, 32> Hmac(std::string_view key, std::string_view data) {
  std::array<uint8_t, 32> out{};
  unsigned int len = 0;
  CHECK(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
             &len) != nullptr);
  CHECK_EQ(len, 32u);
  return out;
}

std::string_view AsView(const std::array<uint8_t, 32>& a) {
  return {reinterpret_cast<const char*>(a.data()), a.size()};
}

// A header value as SigV4 signs it: outer whitespace trimmed, runs of spaces collapsed.
std::string NormalizeHeaderValue(std::string_view v) {
  auto is_ws = [](char c) { return c == ' ' || c == '\t'; };
  while (!v.empty() && is_ws(v.front())) v.remove_prefix(1);
  while (!v.empty() && is_ws(v.back())) v.remove_suffix(1);
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == ' ' && !out.empty() && out.back() == ' ') continue;
    out.push_back(c);
  }
  return out;
}

// The value of `name` for the canonical headers: every occurrence, normalised, joined by ','.
std::optional<std::string> CanonicalHeaderValue(const RequestView& request, std::string_view name) {
  std::optional<std::string> value;
  for (const auto& [n, v] : request.headers) {
    if (n != name) continue;
    if (value) {
      value->push_back(',');
      value->append(NormalizeHeaderValue(v));
    } else {
      value = NormalizeHeaderValue(v);
    }
  }
  return value;
}

}  // namespace

std::string UriEncode(std::string_view bytes, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size());
  for (char ch : bytes) {
    auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

std::optional<std::string> PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    int hi = HexValue(text[i + 1]);
    int lo = HexValue(text[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi << 4 | lo));
    i += 2;
  }
  return out;
}

std::string CanonicalQueryString(std::string_view raw_query, bool presigned) {
  std::vector<std::pair<std::string, std::string>> params;
  while (!raw_query.empty()) {
    size_t amp = raw_query.find('&');
    std::string_view piece = raw_query.substr(0, amp);
    raw_query = amp == std::string_view::npos ? std::string_view() : raw_query.substr(amp + 1);
    if (piece.empty()) continue;
    size_t eq = piece.find('=');
    std::string_view name = piece.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1);
    // A malformed '%' is taken literally (and so signed as %25), as it cannot be decoded.
    std::string dn = PercentDecode(name).value_or(std::string(name));
    std::string dv = PercentDecode(value).value_or(std::string(value));
    if (presigned && dn == "X-Amz-Signature") continue;
    params.emplace_back(UriEncode(dn, false), UriEncode(dv, false));
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [n, v] : params) {
    if (!out.empty()) out.push_back('&');
    out += n;
    out.push_back('=');
    out += v;
  }
  return out;
}

std::string ReencodedPath(std::string_view raw_path) {
  if (raw_path.empty()) return "/";
  std::optional<std::string> decoded = PercentDecode(raw_path);
  return UriEncode(decoded ? *decoded : std::string(raw_path), true);
}

absl::StatusOr<std::string> CanonicalRequest(const RequestView& request,
                                             std::string_view canonical_path,
                                             const std::vector<std::string>& signed_headers,
                                             std::string_view payload_hash, bool presigned) {
  return CanonicalRequestWithQuery(request, canonical_path,
                                   CanonicalQueryString(request.RawQuery(), presigned),
                                   signed_headers, payload_hash);
}

absl::StatusOr<std::string> CanonicalRequestWithQuery(
    const RequestView& request, std::string_view canonical_path, std::string_view canonical_query,
    const std::vector<std::string>& signed_headers, std::string_view payload_hash) {
  std::string out = request.method;
  out.push_back('\n');
  out += canonical_path.empty() ? std::string_view("/") : canonical_path;
  out.push_back('\n');
  out += canonical_query;
  out.push_back('\n');
  std::string list;
  for (const std::string& name : signed_headers) {
    std::optional<std::string> value = CanonicalHeaderValue(request, name);
    if (!value) {
      return S3Error(S3Code::kSignatureDoesNotMatch,
                     "The request does not carry the signed header " + name + ".");
    }
    out += name;
    out.push_back(':');
    out += *value;
    out.push_back('\n');
    if (!list.empty()) list.push_back(';');
    list += name;
  }
  out.push_back('\n');
  out += list;
  out.push_back('\n');
  out += payload_hash;
  return out;
}

std::string StringToSign(std::string_view datetime, std::string_view scope,
                         std::string_view canonical_request) {
  std::string out = "AWS4-HMAC-SHA256\n";
  out += datetime;
  out.push_back('\n');
  out += scope;
  out.push_back('\n');
  out += Sha256HexOf(canonical_request);
  return out;
}

std::array<uint8_t, 32> DeriveSigningKey(std::string_view secret, std::string_view date,
                                         std::string_view region, std::string_view service) {
  std::string k_secret = "AWS4";
  k_secret += secret;
  auto k_date = Hmac(k_secret, date);
  std::fill(k_secret.begin(), k_secret.end(), '\0');
  auto k_region = Hmac(AsView(k_date), region);
  auto k_service = Hmac(AsView(k_region), service);
  return Hmac(AsView(k_service), "aws4_request");
}

std::string HmacSha256Hex(const std::array<uint8_t, 32>& key, std::string_view data) {
  auto mac = Hmac(AsView(key), data);
  return HexEncode(std::as_bytes(std::span(mac)));
}

std::string ChunkSignature(const ChunkSigningContext& ctx, std::string_view previous_signature,
                           std::string_view chunk_sha256_hex) {
  std::string sts = "AWS4-HMAC-SHA256-PAYLOAD\n";
  for (std::string_view part : {std::string_view(ctx.request_datetime), std::string_view(ctx.scope),
                                previous_signature, kEmptySha256Hex}) {
    sts += part;
    sts.push_back('\n');
  }
  sts += chunk_sha256_hex;
  return HmacSha256Hex(ctx.signing_key, sts);
}

std::string TrailerSignature(const ChunkSigningContext& ctx, std::string_view previous_signature,
                             std::string_view canonical_trailers) {
  std::string sts = "AWS4-HMAC-SHA256-TRAILER\n";
  for (std::string_view part :
       {std::string_view(ctx.request_datetime), std::string_view(ctx.scope), previous_signature}) {
    sts += part;
    sts.push_back('\n');
  }
  sts += Sha256HexOf(canonical_trailers);
  return HmacSha256Hex(ctx.signing_key, sts);
}

}  // namespace mosaic::gateway
