#pragma once
// The aws-chunked body decoder for the STREAMING-* payload modes:
//
//   <hex size>[;chunk-signature=<sig>]\r\n<data>\r\n ... 0[;chunk-signature=<sig>]\r\n
//   [<trailer name>:<value>\r\n ...][x-amz-trailer-signature:<sig>\r\n]\r\n
//
// Fed the raw body in pieces of any size (one byte at a time works), it hands the decoded
// payload to a sink as views into the fed bytes (no copy), checks each chunk's signature as
// the chunk ends (signed modes: a chain starting at the request's seed signature), parses the
// trailers, verifies the trailer signature (signed-trailer mode) and the checksum trailer
// against the decoded payload, and checks x-amz-decoded-content-length.
//
// Payload bytes reach the sink BEFORE their chunk's signature is checked (the decoder never
// buffers a chunk, so memory stays bounded whatever the chunk size): nothing is authentic
// until Finish() returns OK, and the caller must not commit anything before that.
//
// Memory is bounded: lines (chunk headers, trailers) are limited to kMaxLineBytes and at most
// kMaxTrailers trailers are accepted. Errors (S3Error):
//   malformed framing, over-long line, undeclared or unsupported trailer -> InvalidRequest
//   body ends early, decoded length differs, a declared trailer missing  -> IncompleteBody
//   a wrong or missing chunk or trailer signature                        -> SignatureDoesNotMatch
//   the checksum trailer differs from the payload                        -> BadDigest
// After an error the decoder stays failed: every later call returns the same error.
// One thread at a time; no blocking beyond what the sink does.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/gateway/s3/checksum.h"
#include "server/gateway/s3/sigv4.h"

namespace mosaic::gateway {

// Receives decoded payload bytes; the view is valid only during the call. A non-OK status
// stops decoding and is returned by Feed.
using PayloadSink = absl::FunctionRef<absl::Status(std::string_view)>;

// A checksum value as received (x-amz-checksum-* header or trailer), base64 of the digest.
struct ChecksumValue {
  ChecksumAlgorithm algorithm;
  std::string base64;
};

class AwsChunkedDecoder {
 public:
  static constexpr size_t kMaxLineBytes = 4096;
  static constexpr size_t kMaxTrailers = 8;

  // A decoder for a request verified as `auth` (one of the streaming modes, CHECKed). Errors:
  // x-amz-trailer naming anything but one x-amz-checksum-* header, or naming one in a mode
  // without trailers -> InvalidRequest.
  [[nodiscard]] static absl::StatusOr<AwsChunkedDecoder> Create(const AuthResult& auth);

  // Decodes the next raw body bytes, passing payload bytes to `sink`.
  [[nodiscard]] absl::Status Feed(std::string_view raw, PayloadSink sink);

  // Called once the whole body has been fed: OK only if the body was complete and every
  // signature, length and checksum held.
  [[nodiscard]] absl::Status Finish();

  // Decoded payload bytes so far.
  uint64_t decoded_bytes() const { return decoded_; }

  // The checksum trailer received (verified once Finish returned OK), if any.
  const std::optional<ChecksumValue>& checksum() const { return checksum_; }

 private:
  enum class State { kSizeLine, kData, kDataCr, kDataLf, kTrailers, kDone };

  AwsChunkedDecoder(const AuthResult& auth, std::optional<ChecksumAlgorithm> trailer_alg);

  absl::Status Step(std::string_view& raw, PayloadSink sink);
  absl::Status TakeLine(std::string_view& raw);
  absl::Status TakeData(std::string_view& raw, PayloadSink sink);
  absl::Status OnSizeLine(std::string_view line);
  absl::Status OnTrailerLine(std::string_view line);
  absl::Status OnTrailerSignature(std::string_view value);
  absl::Status VerifyChunk(std::string_view chunk_sha256_hex);
  absl::Status CheckComplete();
  absl::Status Fail(absl::Status status);

  PayloadMode mode_;
  ChunkSigningContext signing_;
  std::optional<uint64_t> declared_length_;
  std::optional<ChecksumAlgorithm> trailer_alg_;  // the declared checksum trailer

  State state_ = State::kSizeLine;
  absl::Status error_;
  std::string line_;              // the partial line being read
  uint64_t chunk_remaining_ = 0;  // data bytes left in the current chunk
  uint64_t decoded_ = 0;
  std::string previous_signature_;           // the chain: seed, then each chunk's
  std::string chunk_signature_;              // the current chunk's claimed signature
  std::optional<Checksummer> chunk_hash_;    // SHA-256 of the current chunk (signed modes)
  std::optional<Checksummer> payload_hash_;  // the trailer's algorithm over the payload
  size_t trailer_count_ = 0;
  std::string canonical_trailers_;  // "name:value\n" per trailer, for the trailer signature
  bool trailer_signature_seen_ = false;
  bool skipped_blank_line_ = false;
  std::optional<ChecksumValue> checksum_;
};

}  // namespace mosaic::gateway
