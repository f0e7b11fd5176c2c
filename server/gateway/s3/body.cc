#include "server/gateway/s3/body.h"

#include <cstring>

#include "common/status.h"
#include "server/gateway/s3/aws_chunked.h"
#include "server/gateway/s3/checksum.h"
#include "server/gateway/s3/errors.h"

namespace mosaic::gateway {
namespace {

// The x-amz-checksum-<alg> header of a plain body, if any.
absl::StatusOr<std::optional<std::pair<ChecksumAlgorithm, std::string>>> DeclaredChecksum(
    const RequestView& request) {
  for (const auto& [name, value] : request.headers) {
    if (auto alg = AlgorithmFromHeaderName(name)) {
      RETURN_IF_ERROR(ParseDigest(*alg, value).status());
      return std::make_pair(*alg, value);
    }
  }
  return std::nullopt;
}

class PlainBody final : public BodyReader {
 public:
  PlainBody(Exchange& ex, const AuthResult& auth,
            std::optional<std::pair<ChecksumAlgorithm, std::string>> checksum)
      : ex_(ex), declared_sha256_(auth.payload_sha256_hex), checksum_decl_(std::move(checksum)) {
    if (auth.payload_mode == PayloadMode::kSigned) sha256_.emplace(ChecksumAlgorithm::kSha256);
    if (checksum_decl_) checksum_.emplace(checksum_decl_->first);
  }

  absl::StatusOr<size_t> Read(ByteSpan out) override {
    auto n = ex_.ReadBody(out);
    if (!n.ok()) {
      if (n.status().code() == absl::StatusCode::kDeadlineExceeded) {
        return S3Error(S3Code::kRequestTimeout);
      }
      return S3Error(S3Code::kIncompleteBody, std::string(n.status().message()));
    }
    std::string_view data = AsStringView({out.data(), *n});
    if (sha256_) sha256_->Update(data);
    if (checksum_) checksum_->Update(data);
    total_ += *n;
    return n;
  }

  absl::Status Finish() override {
    auto length = declared_length();
    if (length && total_ != *length) return S3Error(S3Code::kIncompleteBody);
    if (sha256_ && HexEncode(AsBytes(sha256_->Digest())) != declared_sha256_) {
      return S3Error(S3Code::kXAmzContentSHA256Mismatch);
    }
    if (checksum_) {
      return VerifyDigest(checksum_decl_->first, checksum_decl_->second, checksum_->Digest());
    }
    return absl::OkStatus();
  }

  std::optional<uint64_t> declared_length() const override { return ex_.content_length(); }

 private:
  Exchange& ex_;
  std::string declared_sha256_;
  std::optional<std::pair<ChecksumAlgorithm, std::string>> checksum_decl_;
  std::optional<Checksummer> sha256_;
  std::optional<Checksummer> checksum_;
  uint64_t total_ = 0;
};

// An aws-chunked body: raw bytes go through the decoder (which checks chunk signatures and
// trailers); decoded bytes wait in `pending_` until Read takes them.
class StreamingBody final : public BodyReader {
 public:
  StreamingBody(Exchange& ex, AwsChunkedDecoder decoder, std::optional<uint64_t> decoded_length)
      : ex_(ex), decoder_(std::move(decoder)), decoded_length_(decoded_length), raw_(kRawBytes) {}

  absl::StatusOr<size_t> Read(ByteSpan out) override {
    while (pending_pos_ == pending_.size() && !raw_done_) {
      pending_.clear();
      pending_pos_ = 0;
      auto n = ex_.ReadBody({raw_.data(), raw_.size()});
      if (!n.ok()) {
        if (n.status().code() == absl::StatusCode::kDeadlineExceeded) {
          return S3Error(S3Code::kRequestTimeout);
        }
        return S3Error(S3Code::kIncompleteBody, std::string(n.status().message()));
      }
      if (*n == 0) {
        raw_done_ = true;
        break;
      }
      RETURN_IF_ERROR(decoder_.Feed(AsStringView({raw_.data(), *n}), [this](std::string_view d) {
        pending_.append(d);
        return absl::OkStatus();
      }));
    }
    size_t n = std::min(out.size(), pending_.size() - pending_pos_);
    std::memcpy(out.data(), pending_.data() + pending_pos_, n);
    pending_pos_ += n;
    return n;
  }

  absl::Status Finish() override { return decoder_.Finish(); }
  std::optional<uint64_t> declared_length() const override { return decoded_length_; }

 private:
  static constexpr size_t kRawBytes = 256 * 1024;
  Exchange& ex_;
  AwsChunkedDecoder decoder_;
  std::optional<uint64_t> decoded_length_;
  std::vector<std::byte> raw_;
  std::string pending_;
  size_t pending_pos_ = 0;
  bool raw_done_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<BodyReader>> NewBodyReader(Exchange& ex, const AuthResult& auth) {
  if (IsStreaming(auth.payload_mode)) {
    ASSIGN_OR_RETURN(AwsChunkedDecoder decoder, AwsChunkedDecoder::Create(auth));
    return std::unique_ptr<BodyReader>(
        new StreamingBody(ex, std::move(decoder), auth.decoded_content_length));
  }
  ASSIGN_OR_RETURN(auto checksum, DeclaredChecksum(ex.request()));
  return std::unique_ptr<BodyReader>(new PlainBody(ex, auth, std::move(checksum)));
}

}  // namespace mosaic::gateway
