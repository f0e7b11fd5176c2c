#pragma once
// AWS Signature Version 4 for S3: verifies a request's Authorization header or presigned
// query, and exposes the pieces (canonical request, signing key, chunk and trailer
// signatures) that aws-chunked bodies and the tests need.
//
// What is verified here is the request head. The body is checked as it streams, by
// PayloadDecoder (payload.h): the declared SHA-256 of a signed payload, the chunk
// signatures of STREAMING-AWS4-HMAC-SHA256-PAYLOAD, the trailers. A request is authentic only
// when both succeed.
//
// Canonicalisation follows what S3 and its SDKs do: the path is signed as sent (S3 neither
// normalises nor double-encodes it); if that does not match, the path re-encoded by the
// canonical rules is tried too, for clients that send characters such as '!' or '$'
// unescaped. Query parameters are decoded, re-encoded (RFC 3986 unreserved set) and sorted
// by name then value; a parameter without '=' has an empty value. Header values are trimmed
// and runs of spaces collapsed; repeated headers join with ','.
//
// curl 7.88 (Debian 12) --aws-sigv4 deviates, and is accepted: it signs the query string as
// sent (unsorted, unencoded; tried after the canonical form, header auth only), and sends no
// x-amz-content-sha256 unless told to (-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" or the
// body's hex SHA-256, which it then signs). Without that header a request without a body is
// taken as signing the empty body; one with a body is refused, as S3 does (InvalidRequest
// "Missing required header for this request: x-amz-content-sha256"), since nothing would
// bind its body to the signature.
//
// All functions are thread-safe and do not block, except for what SecretLookup does.

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/gateway/s3/request.h"

namespace mosaic::gateway {

// The secret of an access key id. NOT_FOUND (no such key) becomes InvalidAccessKeyId; any
// other error is returned as is. Called at most once per VerifyRequest, on its thread.
using SecretLookup = std::function<absl::StatusOr<std::string>(const std::string& access_key_id)>;

// How the request's payload is protected (the x-amz-content-sha256 value).
enum class PayloadMode {
  kSigned,                    // a SHA-256 hex of the body, checked against the body
  kUnsigned,                  // UNSIGNED-PAYLOAD (and every presigned request)
  kStreamingSigned,           // STREAMING-AWS4-HMAC-SHA256-PAYLOAD
  kStreamingUnsignedTrailer,  // STREAMING-UNSIGNED-PAYLOAD-TRAILER
  kStreamingSignedTrailer,    // STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER
};

// Hex SHA-256 of the empty string: the payload hash of a body-less request and of the
// final aws-chunked chunk.
inline constexpr std::string_view kEmptySha256Hex =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// True for the three STREAMING-* modes: the body is aws-chunked.
bool IsStreaming(PayloadMode mode);

// What the chunk-signature chain of a streaming body starts from.
struct ChunkSigningContext {
  std::array<uint8_t, 32> signing_key{};  // HMAC key for this date/region/service
  std::string seed_signature;             // the request's own signature (hex)
  std::string scope;                      // "20130524/us-east-1/s3/aws4_request"
  std::string request_datetime;           // "20130524T000000Z"
};

struct AuthResult {
  std::string access_key_id;
  bool presigned = false;
  PayloadMode payload_mode = PayloadMode::kUnsigned;
  std::string payload_sha256_hex;  // kSigned: the declared hash, lower-case hex
  // x-amz-decoded-content-length (required for the streaming modes), when sent.
  std::optional<uint64_t> decoded_content_length;
  // x-amz-trailer, lower-cased and trimmed, in order ("x-amz-checksum-crc32c").
  std::vector<std::string> trailer_names;
  ChunkSigningContext chunk_signing;
};

// Verifies the SigV4 signature of `request` at time `now` for this gateway's `region` (an
// empty region accepts whatever region the client signed for). Returns the caller's identity
// and how the body must be checked. Errors, each an S3Error (errors.h):
//   no Authorization header and no X-Amz-Algorithm query   -> AccessDenied
//   both at once, or an unsupported x-amz-content-sha256    -> InvalidArgument
//   a body (Content-Length > 0 or Transfer-Encoding) and no
//   x-amz-content-sha256 (header auth)                      -> InvalidRequest
//   AWS signature version 2 ("AWS key:sig")                 -> InvalidRequest
//   malformed Authorization / credential scope / date       -> AuthorizationHeaderMalformed
//   malformed presigned parameters, X-Amz-Expires > 604800  -> AuthorizationQueryParametersError
//   presigned and past its expiry                            -> AccessDenied "Request has expired"
//   header auth more than 15 minutes from `now`              -> RequestTimeTooSkewed
//   unknown access key                                       -> InvalidAccessKeyId
//   wrong signature                                          -> SignatureDoesNotMatch
//   streaming without x-amz-decoded-content-length           -> MissingContentLength
//   an x-amz-* header that is not signed (header auth and
//   presigned; x-amz-date and x-amz-content-sha256 are bound
//   anyway)                                                  -> AccessDenied
[[nodiscard]] absl::StatusOr<AuthResult> VerifyRequest(const RequestView& request,
                                                       const SecretLookup& lookup,
                                                       std::chrono::system_clock::time_point now,
                                                       std::string_view region);

// ---- Building blocks, public for the body decoder and for tests. ----

// RFC 3986 percent-encoding as SigV4 wants it: A-Z a-z 0-9 - . _ ~ stay, every other byte
// becomes %XX (upper-case hex); '/' stays when `keep_slash`.
std::string UriEncode(std::string_view bytes, bool keep_slash);

// Decodes %XX sequences (either case); nullopt on a malformed '%'. '+' stays '+'.
std::optional<std::string> PercentDecode(std::string_view text);

// The canonical query string of a raw (still encoded) query; drops X-Amz-Signature when
// `presigned`.
std::string CanonicalQueryString(std::string_view raw_query, bool presigned);

// The canonical path of a raw path when re-encoded by the canonical rules (decode, then
// encode keeping '/'); "/" for an empty path.
std::string ReencodedPath(std::string_view raw_path);

// The canonical request: method, path, query, the signed headers' canonical lines, the
// signed header list and the payload hash. NOT_FOUND-free: a signed header absent from the
// request is an S3 SignatureDoesNotMatch error.
[[nodiscard]] absl::StatusOr<std::string> CanonicalRequest(
    const RequestView& request, std::string_view canonical_path,
    const std::vector<std::string>& signed_headers, std::string_view payload_hash, bool presigned);

// The same with an explicit canonical query line (CanonicalRequest uses
// CanonicalQueryString(request.RawQuery(), presigned)).
[[nodiscard]] absl::StatusOr<std::string> CanonicalRequestWithQuery(
    const RequestView& request, std::string_view canonical_path, std::string_view canonical_query,
    const std::vector<std::string>& signed_headers, std::string_view payload_hash);

// "AWS4-HMAC-SHA256\n<datetime>\n<scope>\n<hex sha256 of canonical_request>".
std::string StringToSign(std::string_view datetime, std::string_view scope,
                         std::string_view canonical_request);

// kSigning = HMAC chain of "AWS4"+secret over date (YYYYMMDD), region, service,
// "aws4_request".
std::array<uint8_t, 32> DeriveSigningKey(std::string_view secret, std::string_view date,
                                         std::string_view region, std::string_view service);

// Lower-case hex HMAC-SHA256 of `data` under `key`.
std::string HmacSha256Hex(const std::array<uint8_t, 32>& key, std::string_view data);

// The signature of one aws-chunked chunk whose data hashes to `chunk_sha256_hex`, chained
// from `previous_signature`.
std::string ChunkSignature(const ChunkSigningContext& ctx, std::string_view previous_signature,
                           std::string_view chunk_sha256_hex);

// The x-amz-trailer-signature over `canonical_trailers` ("name:value\n" per trailer),
// chained from the final chunk's signature.
std::string TrailerSignature(const ChunkSigningContext& ctx, std::string_view previous_signature,
                             std::string_view canonical_trailers);

// Parses an ISO 8601 basic timestamp "20130524T000000Z"; nullopt when malformed.
std::optional<std::chrono::system_clock::time_point> ParseAmzDate(std::string_view text);

}  // namespace mosaic::gateway
