#include "server/gateway/s3/body.h"

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "common/bytes.h"
#include "common/status.h"
#include "server/gateway/s3/aws_chunked.h"
#include "server/gateway/s3/checksum.h"
#include "server/gateway/s3/errors.h"

namespace mosaic::gateway {
namespace {

using Declared = std::optional<std::pair<ChecksumAlgorithm, std::string>>;  // alg, base64

// Whether the request is a CompleteMultipartUpload (POST with an uploadId parameter): its
// x-amz-checksum-<alg> header is the whole object's checksum, not one of the XML body.
bool IsCompleteMultipart(const RequestView& request) {
  if (request.method != "POST") return false;
  for (absl::string_view param : absl::StrSplit(ToAbsl(request.RawQuery()), '&')) {
    if (param == "uploadId" || absl::StartsWith(param, "uploadId=")) return true;
  }
  return false;
}

// The x-amz-checksum-<alg> header of the request, if any; InvalidRequest for more than one
// algorithm or a value that does not parse.
absl::StatusOr<Declared> DeclaredChecksum(const RequestView& request) {
  Declared found;
  for (const auto& [name, value] : request.headers) {
    std::optional<ChecksumAlgorithm> alg = AlgorithmFromHeaderName(name);
    if (!alg) continue;
    if (found && found->first != *alg) {
      return S3Error(S3Code::kInvalidRequest,
                     "Expecting a single x-amz-checksum- header. Multiple checksum Types are "
                     "not allowed.");
    }
    RETURN_IF_ERROR(ParseDigest(*alg, value).status());
    if (!found) found.emplace(*alg, value);
  }
  return found;
}

// x-amz-sdk-checksum-algorithm names the algorithm an SDK used; S3 wants its value to travel
// in a header or a trailer of that algorithm (400 InvalidRequest when neither was sent, and
// BadDigest when the value is of another algorithm).
absl::Status CheckSdkAlgorithm(const RequestView& request, std::optional<ChecksumAlgorithm> sent) {
  std::string_view name = request.Header("x-amz-sdk-checksum-algorithm");
  if (name.empty()) return absl::OkStatus();
  std::optional<ChecksumAlgorithm> alg = AlgorithmFromName(name);
  if (!alg || *alg == ChecksumAlgorithm::kMd5) {
    return S3Error(S3Code::kInvalidRequest,
                   "Value for x-amz-sdk-checksum-algorithm header is invalid.");
  }
  if (!sent) {
    return S3Error(S3Code::kInvalidRequest,
                   "x-amz-sdk-checksum-algorithm specified, but no corresponding "
                   "x-amz-checksum-* or x-amz-trailer headers were found.");
  }
  if (*sent != *alg) {
    return S3Error(S3Code::kBadDigest,
                   "The value of x-amz-sdk-checksum-algorithm does not match the checksum sent.");
  }
  return absl::OkStatus();
}

// The raw digest of a value verified by Finish (it parsed when it was declared).
std::optional<std::pair<ChecksumAlgorithm, std::string>> Verified(ChecksumAlgorithm alg,
                                                                  std::string_view base64) {
  absl::StatusOr<std::string> digest = ParseDigest(alg, base64);
  if (!digest.ok()) return std::nullopt;
  return std::make_pair(alg, *std::move(digest));
}

class PlainBody final : public BodyReader {
 public:
  PlainBody(Exchange& ex, const AuthResult& auth, Declared checksum)
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
      RETURN_IF_ERROR(
          VerifyDigest(checksum_decl_->first, checksum_decl_->second, checksum_->Digest()));
      verified_ = std::make_pair(checksum_decl_->first, checksum_->Digest());
    }
    return absl::OkStatus();
  }

  std::optional<uint64_t> declared_length() const override { return ex_.content_length(); }
  std::optional<std::pair<ChecksumAlgorithm, std::string>> checksum() const override {
    return verified_;
  }

 private:
  Exchange& ex_;
  std::string declared_sha256_;
  Declared checksum_decl_;
  std::optional<Checksummer> sha256_;
  std::optional<Checksummer> checksum_;
  std::optional<std::pair<ChecksumAlgorithm, std::string>> verified_;
  uint64_t total_ = 0;
};

// An aws-chunked body: raw bytes go through the decoder (which checks chunk signatures and
// trailers); decoded bytes wait in `pending_` until Read takes them. A checksum declared in a
// header rather than a trailer is computed here over the decoded bytes.
class StreamingBody final : public BodyReader {
 public:
  StreamingBody(Exchange& ex, AwsChunkedDecoder decoder, std::optional<uint64_t> decoded_length,
                Declared header_checksum)
      : ex_(ex),
        decoder_(std::move(decoder)),
        decoded_length_(decoded_length),
        header_decl_(std::move(header_checksum)),
        raw_(kRawBytes) {
    if (header_decl_) header_checksum_.emplace(header_decl_->first);
  }

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
        if (header_checksum_) header_checksum_->Update(d);
        return absl::OkStatus();
      }));
    }
    size_t n = std::min(out.size(), pending_.size() - pending_pos_);
    std::memcpy(out.data(), pending_.data() + pending_pos_, n);
    pending_pos_ += n;
    return n;
  }

  absl::Status Finish() override {
    RETURN_IF_ERROR(decoder_.Finish());
    if (header_checksum_) {
      RETURN_IF_ERROR(
          VerifyDigest(header_decl_->first, header_decl_->second, header_checksum_->Digest()));
      verified_ = std::make_pair(header_decl_->first, header_checksum_->Digest());
    } else if (const auto& trailer = decoder_.checksum()) {
      verified_ = Verified(trailer->algorithm, trailer->base64);
    }
    return absl::OkStatus();
  }
  std::optional<uint64_t> declared_length() const override { return decoded_length_; }
  std::optional<std::pair<ChecksumAlgorithm, std::string>> checksum() const override {
    return verified_;
  }

 private:
  static constexpr size_t kRawBytes = 256 * 1024;
  Exchange& ex_;
  AwsChunkedDecoder decoder_;
  std::optional<uint64_t> decoded_length_;
  Declared header_decl_;
  std::optional<Checksummer> header_checksum_;
  std::optional<std::pair<ChecksumAlgorithm, std::string>> verified_;
  std::vector<std::byte> raw_;
  std::string pending_;
  size_t pending_pos_ = 0;
  bool raw_done_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<BodyReader>> NewBodyReader(Exchange& ex, const AuthResult& auth) {
  const RequestView& request = ex.request();
  Declared header;
  if (!IsCompleteMultipart(request)) {
    ASSIGN_OR_RETURN(header, DeclaredChecksum(request));
    std::optional<ChecksumAlgorithm> trailer;
    if (IsStreaming(auth.payload_mode) && !auth.trailer_names.empty())
      trailer = AlgorithmFromHeaderName(auth.trailer_names[0]);
    if (header && trailer) {
      return S3Error(S3Code::kInvalidRequest,
                     "Expecting a single x-amz-checksum- header. Multiple checksum Types are "
                     "not allowed.");
    }
    RETURN_IF_ERROR(CheckSdkAlgorithm(request, header ? std::optional(header->first) : trailer));
  }
  if (IsStreaming(auth.payload_mode)) {
    ASSIGN_OR_RETURN(AwsChunkedDecoder decoder, AwsChunkedDecoder::Create(auth));
    return std::unique_ptr<BodyReader>(
        new StreamingBody(ex, std::move(decoder), auth.decoded_content_length, std::move(header)));
  }
  return std::unique_ptr<BodyReader>(new PlainBody(ex, auth, std::move(header)));
}

}  // namespace mosaic::gateway
