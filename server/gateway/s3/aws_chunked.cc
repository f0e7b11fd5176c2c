#include "server/gateway/s3/aws_chunked.h"

#include <algorithm>
#include <cctype>

#include "common/bytes.h"
#include "common/check.h"
#include "common/sha256.h"
#include "server/gateway/s3/errors.h"

namespace mosaic::gateway {
namespace {

constexpr std::string_view kTrailerSignature = "x-amz-trailer-signature";
// Without a declared decoded length a chunk may still not be absurd: 5 GiB, S3's single PUT.
constexpr uint64_t kMaxChunkBytes = uint64_t{5} << 30;

absl::Status Framing(std::string message) {
  return S3Error(S3Code::kInvalidRequest, "Malformed aws-chunked body: " + std::move(message));
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsSigned(PayloadMode mode) {
  return mode == PayloadMode::kStreamingSigned || mode == PayloadMode::kStreamingSignedTrailer;
}

bool HasTrailers(PayloadMode mode) {
  return mode == PayloadMode::kStreamingUnsignedTrailer ||
         mode == PayloadMode::kStreamingSignedTrailer;
}

bool IsLowerHex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// 1 to 16 hex digits.
std::optional<uint64_t> ParseHexSize(std::string_view s) {
  if (s.empty() || s.size() > 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d = (c >= '0' && c <= '9')   ? c - '0'
            : (c >= 'a' && c <= 'f') ? c - 'a' + 10
            : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                     : -1;
    if (d < 0) return std::nullopt;
    v = v << 4 | uint64_t(d);
  }
  return v;
}

std::string Sha256HexOf(const Checksummer& c) { return HexEncode(AsBytes(c.Digest())); }

}  // namespace

absl::StatusOr<AwsChunkedDecoder> AwsChunkedDecoder::Create(const AuthResult& auth) {
  CHECK(IsStreaming(auth.payload_mode));
  std::optional<ChecksumAlgorithm> alg;
  if (auth.trailer_names.size() > 1) {
    return S3Error(S3Code::kInvalidRequest, "Expecting a single x-amz-checksum- header.");
  }
  if (!auth.trailer_names.empty()) {
    alg = AlgorithmFromHeaderName(auth.trailer_names[0]);
    if (!alg || !HasTrailers(auth.payload_mode)) {
      return S3Error(S3Code::kInvalidRequest,
                     "The value specified in the x-amz-trailer header is not supported");
    }
  }
  return AwsChunkedDecoder(auth, alg);
}

AwsChunkedDecoder::AwsChunkedDecoder(const AuthResult& auth,
                                     std::optional<ChecksumAlgorithm> trailer_alg)
    : mode_(auth.payload_mode),
      signing_(auth.chunk_signing),
      declared_length_(auth.decoded_content_length),
      trailer_alg_(trailer_alg),
      previous_signature_(auth.chunk_signing.seed_signature) {
  if (trailer_alg_) payload_hash_.emplace(*trailer_alg_);
}

absl::Status AwsChunkedDecoder::Fail(absl::Status status) {
  if (error_.ok()) error_ = status;
  return error_;
}

absl::Status AwsChunkedDecoder::Feed(std::string_view raw, PayloadSink sink) {
  if (!error_.ok()) return error_;
  while (!raw.empty()) {
    absl::Status s = Step(raw, sink);
    if (!s.ok()) return Fail(std::move(s));
  }
  return absl::OkStatus();
}

// Consumes a prefix of `raw` in the current state.
absl::Status AwsChunkedDecoder::Step(std::string_view& raw, PayloadSink sink) {
  switch (state_) {
    case State::kSizeLine:
    case State::kTrailers:
      return TakeLine(raw);
    case State::kData:
      return TakeData(raw, sink);
    case State::kDataCr:
    case State::kDataLf: {
      char want = state_ == State::kDataCr ? '\r' : '\n';
      if (raw.front() != want) return Framing("chunk data is not followed by CRLF");
      raw.remove_prefix(1);
      state_ = state_ == State::kDataCr ? State::kDataLf : State::kSizeLine;
      return absl::OkStatus();
    }
    case State::kDone:
      return Framing("data after the end of the body");
  }
  return absl::OkStatus();
}

absl::Status AwsChunkedDecoder::TakeLine(std::string_view& raw) {
  size_t nl = raw.find('\n');
  size_t take = nl == std::string_view::npos ? raw.size() : nl;
  if (line_.size() + take > kMaxLineBytes) return Framing("line too long");
  line_.append(raw.substr(0, take));
  if (nl == std::string_view::npos) {
    raw = {};
    return absl::OkStatus();
  }
  raw.remove_prefix(nl + 1);
  if (line_.empty() || line_.back() != '\r') return Framing("line not terminated by CRLF");
  line_.pop_back();
  std::string line = std::move(line_);
  line_.clear();
  return state_ == State::kSizeLine ? OnSizeLine(line) : OnTrailerLine(line);
}

absl::Status AwsChunkedDecoder::TakeData(std::string_view& raw, PayloadSink sink) {
  size_t take = static_cast<size_t>(std::min<uint64_t>(chunk_remaining_, raw.size()));
  std::string_view piece = raw.substr(0, take);
  raw.remove_prefix(take);
  chunk_remaining_ -= take;
  decoded_ += take;
  if (chunk_hash_) chunk_hash_->Update(piece);
  if (payload_hash_) payload_hash_->Update(piece);
  absl::Status s = sink(piece);
  if (!s.ok()) return s;
  if (chunk_remaining_ > 0) return absl::OkStatus();
  state_ = State::kDataCr;
  if (!IsSigned(mode_)) return absl::OkStatus();
  absl::Status verified = VerifyChunk(Sha256HexOf(*chunk_hash_));
  chunk_hash_.reset();
  return verified;
}

// "<hex size>[;ext[=value]]...": the chunk signature extension is required in signed modes.
absl::Status AwsChunkedDecoder::OnSizeLine(std::string_view line) {
  size_t semi = line.find(';');
  std::optional<uint64_t> size = ParseHexSize(Trim(line.substr(0, semi)));
  if (!size) return Framing("bad chunk size");
  chunk_signature_.clear();
  while (semi != std::string_view::npos) {
    line.remove_prefix(semi + 1);
    semi = line.find(';');
    std::string_view ext = Trim(line.substr(0, semi));
    constexpr std::string_view kSig = "chunk-signature=";
    if (ext.substr(0, kSig.size()) == kSig) chunk_signature_ = std::string(ext.substr(kSig.size()));
  }
  if (IsSigned(mode_) && chunk_signature_.empty()) {
    return S3Error(S3Code::kSignatureDoesNotMatch, "A chunk carries no chunk-signature.");
  }
  uint64_t limit =
      declared_length_ ? *declared_length_ - std::min(decoded_, *declared_length_) : kMaxChunkBytes;
  if (*size > limit) {
    return Framing("chunk of " + std::to_string(*size) +
                   " bytes exceeds x-amz-decoded-content-length");
  }
  if (*size == 0) {
    state_ = State::kTrailers;
    if (!IsSigned(mode_)) return absl::OkStatus();
    return VerifyChunk(kEmptySha256Hex);
  }
  chunk_remaining_ = *size;
  state_ = State::kData;
  if (IsSigned(mode_)) chunk_hash_.emplace(ChecksumAlgorithm::kSha256);
  return absl::OkStatus();
}

absl::Status AwsChunkedDecoder::VerifyChunk(std::string_view chunk_sha256_hex) {
  std::string expected = ChunkSignature(signing_, previous_signature_, chunk_sha256_hex);
  if (!ConstantTimeEquals(expected, chunk_signature_)) {
    return S3Error(S3Code::kSignatureDoesNotMatch,
                   "The chunk signature we calculated does not match the one you provided.");
  }
  previous_signature_ = std::move(chunk_signature_);
  chunk_signature_.clear();
  return absl::OkStatus();
}

// A trailer line, or the blank line that ends the body. One blank line straight after the
// final chunk is skipped when trailers are expected: some clients put one there.
absl::Status AwsChunkedDecoder::OnTrailerLine(std::string_view line) {
  if (line.empty()) {
    if (trailer_alg_ && trailer_count_ == 0 && !skipped_blank_line_) {
      skipped_blank_line_ = true;
      return absl::OkStatus();
    }
    state_ = State::kDone;
    return absl::OkStatus();
  }
  if (!HasTrailers(mode_)) return Framing("trailers in a payload mode without trailers");
  if (trailer_signature_seen_) return Framing("trailer after x-amz-trailer-signature");
  if (++trailer_count_ > kMaxTrailers) return Framing("too many trailers");
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return Framing("trailer without ':'");
  std::string name(Trim(line.substr(0, colon)));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = Trim(line.substr(colon + 1));
  if (name == kTrailerSignature) return OnTrailerSignature(value);
  std::optional<ChecksumAlgorithm> alg = AlgorithmFromHeaderName(name);
  if (!alg || alg != trailer_alg_) {
    return S3Error(S3Code::kInvalidRequest,
                   "The trailer " + name.substr(0, 64) + " was not declared in x-amz-trailer.");
  }
  if (checksum_) return Framing("repeated trailer " + name);
  checksum_ = ChecksumValue{*alg, std::string(value)};
  canonical_trailers_ += name + ":" + std::string(value) + "\n";
  return absl::OkStatus();
}

absl::Status AwsChunkedDecoder::OnTrailerSignature(std::string_view value) {
  if (mode_ != PayloadMode::kStreamingSignedTrailer) {
    return Framing("x-amz-trailer-signature in an unsigned payload mode");
  }
  trailer_signature_seen_ = true;
  std::string expected = TrailerSignature(signing_, previous_signature_, canonical_trailers_);
  if (!IsLowerHex64(value) || !ConstantTimeEquals(expected, value)) {
    return S3Error(S3Code::kSignatureDoesNotMatch,
                   "The trailer signature we calculated does not match the one you provided.");
  }
  return absl::OkStatus();
}

absl::Status AwsChunkedDecoder::Finish() {
  if (!error_.ok()) return error_;
  return Fail(CheckComplete());
}

absl::Status AwsChunkedDecoder::CheckComplete() {
  // A body may end right after its trailers without the closing blank line.
  bool ended = state_ == State::kDone || (state_ == State::kTrailers && line_.empty());
  if (!ended) return S3Error(S3Code::kIncompleteBody);
  if (declared_length_ && decoded_ != *declared_length_) {
    return S3Error(S3Code::kIncompleteBody, "The decoded body has " + std::to_string(decoded_) +
                                                " bytes, x-amz-decoded-content-length says " +
                                                std::to_string(*declared_length_) + ".");
  }
  if (trailer_alg_ && !checksum_) {
    return S3Error(S3Code::kIncompleteBody,
                   "The trailer " + std::string(HeaderNameOf(*trailer_alg_)) + " is missing.");
  }
  if (mode_ == PayloadMode::kStreamingSignedTrailer && !trailer_signature_seen_) {
    return S3Error(S3Code::kSignatureDoesNotMatch, "The x-amz-trailer-signature is missing.");
  }
  if (checksum_) {
    return VerifyDigest(checksum_->algorithm, checksum_->base64, payload_hash_->Digest());
  }
  return absl::OkStatus();
}

}  // namespace mosaic::gateway
