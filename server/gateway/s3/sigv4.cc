// SigV4 verification of a request head: parses the Authorization header or the presigned
// query, checks time and scope, recomputes the signature.

#include "server/gateway/s3/sigv4.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "common/sha256.h"
#include "common/status.h"
#include "server/gateway/s3/errors.h"

namespace mosaic::gateway {
namespace {

using std::chrono::system_clock;

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr auto kMaxSkew = std::chrono::minutes(15);
constexpr int64_t kMaxExpiresS = 604800;  // 7 days

struct Credential {
  std::string access_key_id;
  std::string date;  // YYYYMMDD
  std::string region;
  std::string service;

  std::string Scope() const { return date + "/" + region + "/" + service + "/aws4_request"; }
};

// What the client claims: whom it is, what it signed and its signature.
struct Claim {
  bool presigned = false;
  Credential credential;
  std::vector<std::string> signed_headers;
  std::string signature;
  std::string datetime;   // ISO 8601 basic, as signed
  int64_t expires_s = 0;  // presigned only
};

absl::Status Malformed(bool presigned, std::string message) {
  return S3Error(presigned ? S3Code::kAuthorizationQueryParametersError
                           : S3Code::kAuthorizationHeaderMalformed,
                 std::move(message));
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  while (true) {
    size_t at = s.find(sep);
    parts.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return parts;
    s.remove_prefix(at + 1);
  }
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool IsLowerHex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// The decoded value of query parameter `name` (decoded names compared), if present.
std::optional<std::string> QueryParam(std::string_view raw_query, std::string_view name) {
  for (std::string_view piece : Split(raw_query, '&')) {
    size_t eq = piece.find('=');
    std::optional<std::string> n = PercentDecode(piece.substr(0, eq));
    if (!n || *n != name) continue;
    if (eq == std::string_view::npos) return std::string();
    return PercentDecode(piece.substr(eq + 1)).value_or(std::string(piece.substr(eq + 1)));
  }
  return std::nullopt;
}

// "AKID/20130524/us-east-1/s3/aws4_request".
absl::StatusOr<Credential> ParseCredential(std::string_view text, bool presigned) {
  std::vector<std::string_view> parts = Split(text, '/');
  if (parts.size() != 5 || parts[0].empty() || parts[2].empty() || parts[3].empty()) {
    return Malformed(presigned,
                     "Error parsing the X-Amz-Credential parameter; the Credential is "
                     "mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/"
                     "aws4_request\".");
  }
  if (parts[1].size() != 8 || !AllDigits(parts[1])) {
    return Malformed(presigned, "Invalid credential date \"" + std::string(parts[1]) + "\".");
  }
  if (parts[4] != "aws4_request") {
    return Malformed(presigned, "The credential is mal-formed; incorrect terminal \"" +
                                    std::string(parts[4]) +
                                    "\". This endpoint uses "
                                    "\"aws4_request\".");
  }
  return Credential{std::string(parts[0]), std::string(parts[1]), std::string(parts[2]),
                    std::string(parts[3])};
}

absl::StatusOr<std::vector<std::string>> ParseSignedHeaders(std::string_view text, bool presigned) {
  std::vector<std::string> names;
  bool has_host = false;
  for (std::string_view name : Split(text, ';')) {
    bool valid = !name.empty() && std::none_of(name.begin(), name.end(), [](char c) {
      return std::isupper(static_cast<unsigned char>(c)) || c == ' ' || c == ':';
    });
    if (!valid) return Malformed(presigned, "The SignedHeaders list is malformed.");
    has_host = has_host || name == "host";
    names.emplace_back(name);
  }
  if (!has_host) {
    return Malformed(presigned, "The host header must be signed.");
  }
  return names;
}

// "Fri, 24 May 2013 00:00:00 GMT" (RFC 1123) -> "20130524T000000Z"; nullopt when malformed.
std::optional<std::string> HttpDateToAmzDate(std::string_view text) {
  static constexpr std::string_view kMonths = "JanFebMarAprMayJunJulAugSepOctNovDec";
  if (text.size() != 29 || text.substr(25) != " GMT") return std::nullopt;
  std::string_view month = text.substr(8, 3);
  size_t m = kMonths.find(month);
  if (m == std::string_view::npos || m % 3 != 0) return std::nullopt;
  std::string digits = std::string(text.substr(12, 4)) + std::string(text.substr(5, 2)) +
                       std::string(text.substr(17, 2)) + std::string(text.substr(20, 2)) +
                       std::string(text.substr(23, 2));
  if (!AllDigits(digits) || text[19] != ':' || text[22] != ':') return std::nullopt;
  size_t month_number = m / 3 + 1;
  std::string result = digits.substr(0, 4) + char('0' + month_number / 10) +
                       char('0' + month_number % 10) + digits.substr(4, 2) + "T" +
                       digits.substr(6, 6) + "Z";
  if (!ParseAmzDate(result)) return std::nullopt;
  return result;
}

absl::StatusOr<Claim> ParseAuthorizationHeader(const RequestView& request) {
  std::string_view value = Trim(request.Header("authorization"));
  if (value.substr(0, 4) == "AWS ") {
    return S3Error(S3Code::kInvalidRequest,
                   "The authorization mechanism you have provided is not supported. Please use "
                   "AWS4-HMAC-SHA256.");
  }
  if (value.substr(0, kAlgorithm.size()) != kAlgorithm ||
      (value.size() > kAlgorithm.size() && value[kAlgorithm.size()] != ' ')) {
    return S3Error(S3Code::kInvalidArgument, "Unsupported Authorization Type");
  }
  std::optional<std::string_view> credential, signed_headers, signature;
  for (std::string_view field : Split(value.substr(kAlgorithm.size()), ',')) {
    field = Trim(field);
    size_t eq = field.find('=');
    std::string_view key = field.substr(0, eq);
    std::optional<std::string_view>* target = key == "Credential"      ? &credential
                                              : key == "SignedHeaders" ? &signed_headers
                                              : key == "Signature"     ? &signature
                                                                       : nullptr;
    if (eq == std::string_view::npos || target == nullptr || target->has_value()) {
      return Malformed(false, "The authorization header is malformed; unexpected \"" +
                                  std::string(field.substr(0, 64)) + "\".");
    }
    *target = field.substr(eq + 1);
  }
  if (!credential || !signed_headers || !signature) {
    return Malformed(false,
                     "The authorization header is malformed; it needs Credential, "
                     "SignedHeaders and Signature.");
  }
  Claim claim;
  ASSIGN_OR_RETURN(claim.credential, ParseCredential(*credential, false));
  ASSIGN_OR_RETURN(claim.signed_headers, ParseSignedHeaders(*signed_headers, false));
  claim.signature = std::string(*signature);
  if (request.HasHeader("x-amz-date")) {
    claim.datetime = std::string(Trim(request.Header("x-amz-date")));
  } else if (auto date = HttpDateToAmzDate(Trim(request.Header("date")))) {
    claim.datetime = *date;
  }
  if (!ParseAmzDate(claim.datetime)) {
    return S3Error(S3Code::kAccessDenied,
                   "AWS authentication requires a valid Date or x-amz-date header");
  }
  return claim;
}

absl::StatusOr<Claim> ParsePresignedQuery(std::string_view raw_query) {
  auto get = [&](std::string_view name) -> absl::StatusOr<std::string> {
    std::optional<std::string> v = QueryParam(raw_query, name);
    if (!v) return S3Error(S3Code::kAuthorizationQueryParametersError);
    return *v;
  };
  ASSIGN_OR_RETURN(std::string algorithm, get("X-Amz-Algorithm"));
  if (algorithm != kAlgorithm) {
    return Malformed(true, "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
  }
  ASSIGN_OR_RETURN(std::string credential, get("X-Amz-Credential"));
  ASSIGN_OR_RETURN(std::string signed_headers, get("X-Amz-SignedHeaders"));
  ASSIGN_OR_RETURN(std::string expires, get("X-Amz-Expires"));
  Claim claim;
  claim.presigned = true;
  ASSIGN_OR_RETURN(claim.signature, get("X-Amz-Signature"));
  ASSIGN_OR_RETURN(claim.datetime, get("X-Amz-Date"));
  ASSIGN_OR_RETURN(claim.credential, ParseCredential(credential, true));
  ASSIGN_OR_RETURN(claim.signed_headers, ParseSignedHeaders(signed_headers, true));
  if (!AllDigits(expires) || expires.size() > 9) {
    return Malformed(true, "X-Amz-Expires should be a number");
  }
  claim.expires_s = std::stoll(expires);
  if (claim.expires_s > kMaxExpiresS) {
    return Malformed(true, "X-Amz-Expires must be less than a week (in seconds) that is 604800");
  }
  if (!ParseAmzDate(claim.datetime)) {
    return Malformed(true,
                     "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
  }
  return claim;
}

// Scope and time: the credential's date and region, skew for header auth, expiry for
// presigned requests.
absl::Status CheckScopeAndTime(const Claim& claim, system_clock::time_point now,
                               std::string_view region) {
  const Credential& cred = claim.credential;
  if (cred.date != std::string_view(claim.datetime).substr(0, 8)) {
    return Malformed(claim.presigned, "Invalid credential date \"" + cred.date +
                                          "\". This date is not the same as X-Amz-Date: \"" +
                                          claim.datetime.substr(0, 8) + "\".");
  }
  if (!region.empty() && cred.region != region) {
    return Malformed(claim.presigned, "The authorization header is malformed; the region '" +
                                          cred.region + "' is wrong; expecting '" +
                                          std::string(region) + "'");
  }
  if (cred.service != "s3") {
    return Malformed(claim.presigned,
                     "The authorization header is malformed; incorrect service \"" + cred.service +
                         "\". This endpoint belongs to \"s3\".");
  }
  system_clock::time_point signed_at = *ParseAmzDate(claim.datetime);
  if (claim.presigned) {
    if (signed_at > now + kMaxSkew)
      return S3Error(S3Code::kAccessDenied, "Request is not valid yet");
    if (now > signed_at + std::chrono::seconds(claim.expires_s)) {
      return S3Error(S3Code::kAccessDenied, "Request has expired");
    }
  } else if (signed_at > now + kMaxSkew || signed_at < now - kMaxSkew) {
    return S3Error(S3Code::kRequestTimeTooSkewed);
  }
  return absl::OkStatus();
}

// A request must not carry x-amz-* headers it did not sign (AWS requires every one signed,
// for header auth as for presigned URLs): they would change what the request does
// (x-amz-copy-source turns a captured PUT into a copy; metadata, tagging) without the
// signer's consent. x-amz-date and x-amz-content-sha256 are bound by the string to sign and
// the canonical request's last line whether listed or not.
absl::Status CheckUnsignedAmzHeaders(const RequestView& request, const Claim& claim) {
  for (const auto& [name, value] : request.headers) {
    if (name.rfind("x-amz-", 0) != 0 || name == "x-amz-content-sha256" || name == "x-amz-date") {
      continue;
    }
    if (std::find(claim.signed_headers.begin(), claim.signed_headers.end(), name) ==
        claim.signed_headers.end()) {
      return S3Error(S3Code::kAccessDenied,
                     "There were headers present in the request which were not signed: " + name);
    }
  }
  return absl::OkStatus();
}

struct Payload {
  PayloadMode mode;
  std::string canonical;  // the last line of the canonical request
};

absl::StatusOr<Payload> PayloadOf(const RequestView& request, bool presigned) {
  if (presigned) return Payload{PayloadMode::kUnsigned, "UNSIGNED-PAYLOAD"};
  std::string_view v = Trim(request.Header("x-amz-content-sha256"));
  if (!request.HasHeader("x-amz-content-sha256")) {
    // curl 7.88 sends none and signs the empty-body hash. Without a body that is exact; with
    // one, nothing would bind the body to the signature: refused as S3 does.
    std::string_view length = Trim(request.Header("content-length"));
    if (request.HasHeader("transfer-encoding") || (!length.empty() && length != "0")) {
      return S3Error(S3Code::kInvalidRequest,
                     "Missing required header for this request: x-amz-content-sha256");
    }
    return Payload{PayloadMode::kSigned, std::string(kEmptySha256Hex)};
  }
  static const std::pair<std::string_view, PayloadMode> kModes[] = {
      {"UNSIGNED-PAYLOAD", PayloadMode::kUnsigned},
      {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD", PayloadMode::kStreamingSigned},
      {"STREAMING-UNSIGNED-PAYLOAD-TRAILER", PayloadMode::kStreamingUnsignedTrailer},
      {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", PayloadMode::kStreamingSignedTrailer},
  };
  for (const auto& [name, mode] : kModes) {
    if (v == name) return Payload{mode, std::string(v)};
  }
  std::string lower(v);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (IsLowerHex64(lower)) return Payload{PayloadMode::kSigned, std::string(v)};
  if (v.rfind("STREAMING-AWS4-ECDSA", 0) == 0) {
    return S3Error(S3Code::kNotImplemented, "SigV4a (ECDSA) signing is not supported.");
  }
  return S3Error(S3Code::kInvalidArgument,
                 "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-"
                 "PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-"
                 "PAYLOAD-TRAILER or a valid sha256 value.");
}

// The body-related headers of the result: decoded length and trailer names.
absl::Status FillBodyHeaders(const RequestView& request, AuthResult& result) {
  if (request.HasHeader("x-amz-decoded-content-length")) {
    std::string_view v = Trim(request.Header("x-amz-decoded-content-length"));
    if (!AllDigits(v) || v.size() > 18) {
      return S3Error(S3Code::kInvalidArgument, "x-amz-decoded-content-length is not a number.");
    }
    result.decoded_content_length = std::stoull(std::string(v));
  } else if (IsStreaming(result.payload_mode)) {
    return S3Error(S3Code::kMissingContentLength,
                   "You must provide the x-amz-decoded-content-length header.");
  }
  if (request.HasHeader("x-amz-trailer")) {
    for (std::string_view name : Split(request.Header("x-amz-trailer"), ',')) {
      std::string n(Trim(name));
      for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (!n.empty()) result.trailer_names.push_back(std::move(n));
    }
  }
  return absl::OkStatus();
}

// Recomputes the signature over the path as sent, then over its re-encoded form; with the
// canonical query, then (header auth, curl 7.88) with the query as sent.
absl::StatusOr<bool> SignatureMatches(const RequestView& request, const Claim& claim,
                                      const std::array<uint8_t, 32>& key,
                                      std::string_view payload_hash) {
  std::string raw_path(request.RawPath());
  if (raw_path.empty()) raw_path = "/";
  std::vector<std::string> paths = {raw_path};
  if (std::string reencoded = ReencodedPath(raw_path); reencoded != raw_path) {
    paths.push_back(std::move(reencoded));
  }
  std::vector<std::string> queries = {CanonicalQueryString(request.RawQuery(), claim.presigned)};
  if (!claim.presigned && request.RawQuery() != queries[0]) {
    queries.emplace_back(request.RawQuery());
  }
  for (const std::string& query : queries) {
    for (const std::string& path : paths) {
      ASSIGN_OR_RETURN(
          std::string canonical,
          CanonicalRequestWithQuery(request, path, query, claim.signed_headers, payload_hash));
      std::string expected =
          HmacSha256Hex(key, StringToSign(claim.datetime, claim.credential.Scope(), canonical));
      if (ConstantTimeEquals(expected, claim.signature)) return true;
    }
  }
  return false;
}

}  // namespace

bool IsStreaming(PayloadMode mode) {
  return mode == PayloadMode::kStreamingSigned || mode == PayloadMode::kStreamingUnsignedTrailer ||
         mode == PayloadMode::kStreamingSignedTrailer;
}

std::optional<system_clock::time_point> ParseAmzDate(std::string_view text) {
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z' || !AllDigits(text.substr(0, 8)) ||
      !AllDigits(text.substr(9, 6))) {
    return std::nullopt;
  }
  auto num = [&](size_t pos, size_t len) { return std::stoi(std::string(text.substr(pos, len))); };
  std::chrono::year_month_day ymd{std::chrono::year(num(0, 4)),
                                  std::chrono::month(static_cast<unsigned>(num(4, 2))),
                                  std::chrono::day(static_cast<unsigned>(num(6, 2)))};
  int h = num(9, 2), m = num(11, 2), s = num(13, 2);
  // system_clock counts 64-bit nanoseconds: years outside about 1678..2262 overflow it (UB,
  // found by fuzz_sigv4). A request date is near today anyway; the rest is malformed.
  if (!ymd.ok() || ymd.year() < std::chrono::year(1970) || ymd.year() > std::chrono::year(2200) ||
      h > 23 || m > 59 || s > 60) {
    return std::nullopt;
  }
  return std::chrono::sys_days(ymd) + std::chrono::hours(h) + std::chrono::minutes(m) +
         std::chrono::seconds(s);
}

absl::StatusOr<AuthResult> VerifyRequest(const RequestView& request, const SecretLookup& lookup,
                                         system_clock::time_point now, std::string_view region) {
  bool has_header = request.HasHeader("authorization");
  std::string_view query = request.RawQuery();
  bool has_query = QueryParam(query, "X-Amz-Algorithm") || QueryParam(query, "X-Amz-Signature") ||
                   QueryParam(query, "X-Amz-Credential");
  if (has_header && has_query) {
    return S3Error(S3Code::kInvalidArgument,
                   "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or "
                   "the Authorization header should be specified");
  }
  if (!has_header && !has_query) return S3Error(S3Code::kAccessDenied);
  ASSIGN_OR_RETURN(Claim claim,
                   has_header ? ParseAuthorizationHeader(request) : ParsePresignedQuery(query));
  RETURN_IF_ERROR(CheckScopeAndTime(claim, now, region));
  RETURN_IF_ERROR(CheckUnsignedAmzHeaders(request, claim));
  ASSIGN_OR_RETURN(Payload payload, PayloadOf(request, claim.presigned));

  absl::StatusOr<std::string> secret = lookup(claim.credential.access_key_id);
  if (absl::IsNotFound(secret.status())) return S3Error(S3Code::kInvalidAccessKeyId);
  if (!secret.ok()) return secret.status();
  const Credential& cred = claim.credential;
  std::array<uint8_t, 32> key = DeriveSigningKey(*secret, cred.date, cred.region, cred.service);
  ASSIGN_OR_RETURN(bool matches, SignatureMatches(request, claim, key, payload.canonical));
  if (!matches) return S3Error(S3Code::kSignatureDoesNotMatch);

  AuthResult result;
  result.access_key_id = cred.access_key_id;
  result.presigned = claim.presigned;
  result.payload_mode = payload.mode;
  if (payload.mode == PayloadMode::kSigned) {
    result.payload_sha256_hex = payload.canonical;  // the declared hash, or the empty one
    for (char& c : result.payload_sha256_hex) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  RETURN_IF_ERROR(FillBodyHeaders(request, result));
  result.chunk_signing = ChunkSigningContext{key, claim.signature, cred.Scope(), claim.datetime};
  return result;
}

}  // namespace mosaic::gateway
