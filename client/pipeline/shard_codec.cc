#include "client/pipeline/shard_codec.h"

#include <bit>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/buffer_pool.h"
#include "common/check.h"
#include "common/status.h"

namespace mosaic::client {
namespace {

using erasure::AllShards;
using erasure::kMaxShards;
using erasure::ShardBit;
using erasure::ShardMask;

constexpr uint64_t kMaxShardBytes = uint64_t{1} << 30;
constexpr size_t kSlotAlignment = 64;

// Data shard `index` of `plaintext` as the encoder's input: a view into the plaintext when
// the shard lies wholly inside it, else the plaintext's tail copied into `scratch` and
// zero-padded to `shard_bytes`.
ConstByteSpan DataShardInput(ConstByteSpan plaintext, int index, size_t shard_bytes,
                             ByteSpan scratch) {
  const size_t begin = size_t(index) * shard_bytes;
  if (begin + shard_bytes <= plaintext.size()) return plaintext.subspan(begin, shard_bytes);
  const size_t available = begin < plaintext.size() ? plaintext.size() - begin : 0;
  if (available > 0) std::memcpy(scratch.data(), plaintext.data() + begin, available);
  std::memset(scratch.data() + available, 0, shard_bytes - available);
  return scratch.first(shard_bytes);
}

}  // namespace

ShardCodec::Workspace::Workspace(int n, size_t max_slot_bytes)
    : n_(n), max_slot_bytes_(max_slot_bytes) {}

ShardCodec::Workspace::~Workspace() { BufferPool::Global().Give(std::move(buffer_)); }

ByteSpan ShardCodec::Workspace::Slot(int shard_index, size_t bytes) {
  CHECK(bytes <= max_slot_bytes_);
  CHECK(shard_index >= 0 && shard_index < n_);
  const size_t stride = AlignUp(bytes == 0 ? 1 : bytes, kSlotAlignment);
  if (stride != stride_ || buffer_.data() == nullptr) {
    const size_t total = size_t(n_) * stride;
    if (buffer_.capacity() < total) {
      BufferPool::Global().Give(std::move(buffer_));
      buffer_ = BufferPool::Global().Take(total);
    }
    buffer_.Resize(total);
    stride_ = stride;
  }
  return {buffer_.data() + size_t(shard_index) * stride_, bytes};
}

absl::StatusOr<std::unique_ptr<ShardCodec>> ShardCodec::Create(const ShardCodecOptions& options,
                                                               const KeyRing& ring,
                                                               const SecretBytes& data_key,
                                                               const ObjectId& object) {
  if (options.stripe_bytes == 0 || options.k < 1 ||
      ShardBytesFor(options.stripe_bytes, options.k) > kMaxShardBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "stripe of ", options.stripe_bytes, " bytes over k = ", options.k, " is not usable"));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<erasure::Codec> codec,
                   erasure::Codec::Create(options.k, options.m));
  ASSIGN_OR_RETURN(ShardSealer sealer,
                   ShardSealer::Create(options.algorithm, data_key, object, options.k, options.m));
  return std::unique_ptr<ShardCodec>(
      new ShardCodec(std::move(codec), std::move(sealer), ring, object, options.stripe_bytes));
}

ShardCodec::ShardCodec(std::unique_ptr<erasure::Codec> codec, ShardSealer sealer,
                       const KeyRing& ring, const ObjectId& object, uint64_t stripe_bytes)
    : codec_(std::move(codec)),
      sealer_(std::move(sealer)),
      ring_(&ring),
      object_(object),
      stripe_bytes_(stripe_bytes) {}

size_t ShardCodec::SealedShardBytes(uint64_t plaintext_bytes) const {
  return size_t(ShardBytesFor(plaintext_bytes, k())) + kSealTagBytes;
}

ChunkId ShardCodec::ChunkIdOf(uint64_t stripe, int shard_index) const {
  return ring_->ComputeChunkId(object_, stripe, shard_index);
}

ShardCodec::Workspace ShardCodec::NewWorkspace() const {
  return Workspace(n(), AlignUp(size_t(ShardBytesFor(stripe_bytes_, k())), kSlotAlignment));
}

absl::Status ShardCodec::CheckStripe(const StripeInfo& stripe, size_t plaintext_bytes) const {
  if (stripe.plaintext_bytes != plaintext_bytes || plaintext_bytes > stripe_bytes_ ||
      (!stripe.last && plaintext_bytes != stripe_bytes_)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "stripe ", stripe.index, ": ", plaintext_bytes, " plaintext bytes for a stripe of ",
        stripe.plaintext_bytes, " (stripes are ", stripe_bytes_, "; only the last is shorter)"));
  }
  return absl::OkStatus();
}

ShardPlace ShardCodec::PlaceOf(const StripeInfo& stripe, int shard_index) const {
  return ShardPlace{.stripe = stripe.index,
                    .shard_index = shard_index,
                    .last_stripe = stripe.last,
                    .stripe_bytes = stripe.plaintext_bytes};
}

absl::Status ShardCodec::EncodeStripe(const StripeInfo& stripe, ConstByteSpan plaintext,
                                      std::span<const ByteSpan> sealed) const {
  RETURN_IF_ERROR(CheckStripe(stripe, plaintext.size()));
  const size_t shard_bytes = size_t(ShardBytesFor(stripe.plaintext_bytes, k()));
  if (sealed.size() != size_t(n())) {
    return absl::InvalidArgumentError(absl::StrCat("need ", n(), " shard buffers"));
  }
  for (const ByteSpan& out : sealed) {
    if (out.size() != shard_bytes + kSealTagBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("shard buffer of ", out.size(), " bytes, need ", shard_bytes + 16));
    }
  }
  ConstByteSpan data[kMaxShards];
  ByteSpan parity[kMaxShards];
  for (int i = 0; i < k(); ++i) data[i] = DataShardInput(plaintext, i, shard_bytes, sealed[i]);
  for (int j = 0; j < m(); ++j) parity[j] = sealed[k() + j].first(shard_bytes);
  RETURN_IF_ERROR(codec_->Encode({data, size_t(k())}, {parity, size_t(m())}));
  for (int i = 0; i < n(); ++i) {
    const ConstByteSpan source = i < k() ? data[i] : ConstByteSpan(parity[i - k()]);
    RETURN_IF_ERROR(sealer_.Seal(PlaceOf(stripe, i), source, sealed[i]));
  }
  return absl::OkStatus();
}

StripeReadResult ShardCodec::OpenShards(const StripeInfo& stripe,
                                        std::span<const ConstByteSpan> sealed,
                                        std::span<const ByteSpan> dest) const {
  StripeReadResult result;
  const size_t expected = SealedShardBytes(stripe.plaintext_bytes);
  for (int i = 0; i < n() && std::popcount(result.verified) < k(); ++i) {
    if (sealed[i].empty()) continue;
    absl::Status status =
        sealed[i].size() == expected
            ? sealer_.Open(PlaceOf(stripe, i), sealed[i], dest[i])
            : absl::DataLossError(absl::StrCat("shard ", i, " of stripe ", stripe.index, " has ",
                                               sealed[i].size(), " bytes, expected ", expected));
    if (status.ok()) {
      result.verified |= ShardBit(i);
    } else if (status.code() == absl::StatusCode::kDataLoss) {
      result.faults.push_back({i, std::move(status)});
    } else {
      result.status = std::move(status);
      return result;
    }
  }
  if (std::popcount(result.verified) < k()) {
    result.status = absl::UnavailableError(absl::StrCat(
        "stripe ", stripe.index, ": ", std::popcount(result.verified), " shards verified of ", n(),
        ", need ", k(), " (", result.faults.size(), " failed verification)"));
  }
  return result;
}

StripeReadResult ShardCodec::DecodeStripe(const StripeInfo& stripe,
                                          std::span<const ConstByteSpan> sealed, ByteSpan plaintext,
                                          Workspace& workspace) const {
  StripeReadResult result;
  result.status = CheckStripe(stripe, plaintext.size());
  if (result.status.ok() && sealed.size() != size_t(n())) {
    result.status = absl::InvalidArgumentError(absl::StrCat("need ", n(), " shard spans"));
  }
  if (!result.status.ok()) return result;
  const size_t shard_bytes = size_t(ShardBytesFor(stripe.plaintext_bytes, k()));
  // Data shards that lie wholly inside the plaintext are opened or rebuilt in place there.
  ByteSpan dest[kMaxShards];
  for (int i = 0; i < n(); ++i) {
    const bool inside = i < k() && (size_t(i) + 1) * shard_bytes <= plaintext.size();
    dest[i] = inside ? plaintext.subspan(size_t(i) * shard_bytes, shard_bytes)
                     : workspace.Slot(i, shard_bytes);
  }
  result = OpenShards(stripe, sealed, {dest, size_t(n())});
  if (!result.status.ok()) return result;
  const ShardMask missing_data = AllShards(k()) & ~result.verified;
  result.status = codec_->Reconstruct({dest, size_t(n())}, result.verified, missing_data);
  if (!result.status.ok()) return result;
  for (int i = 0; i < k(); ++i) {
    const size_t begin = size_t(i) * shard_bytes;
    if (begin < plaintext.size() && begin + shard_bytes > plaintext.size()) {
      std::memcpy(plaintext.data() + begin, dest[i].data(), plaintext.size() - begin);
    }
  }
  return result;
}

StripeReadResult ShardCodec::RebuildShards(const StripeInfo& stripe,
                                           std::span<const ConstByteSpan> sealed, ShardMask wanted,
                                           std::span<const ByteSpan> out,
                                           Workspace& workspace) const {
  StripeReadResult result;
  const size_t sealed_bytes = SealedShardBytes(stripe.plaintext_bytes);
  result.status = CheckStripe(stripe, stripe.plaintext_bytes);
  if (result.status.ok() && (sealed.size() != size_t(n()) || out.size() != size_t(n()) ||
                             (wanted & ~AllShards(n())) != 0)) {
    result.status = absl::InvalidArgumentError(absl::StrCat("need ", n(), " shard spans"));
  }
  for (int i = 0; i < n() && result.status.ok(); ++i) {
    if ((wanted & ShardBit(i)) && out[i].size() != sealed_bytes) {
      result.status = absl::InvalidArgumentError(absl::StrCat("bad output size for shard ", i));
    }
  }
  if (!result.status.ok()) return result;
  ByteSpan dest[kMaxShards];
  for (int i = 0; i < n(); ++i) dest[i] = workspace.Slot(i, sealed_bytes - kSealTagBytes);
  result = OpenShards(stripe, sealed, {dest, size_t(n())});
  if (!result.status.ok()) return result;
  result.status = codec_->Reconstruct({dest, size_t(n())}, result.verified, wanted);
  for (int i = 0; i < n() && result.status.ok(); ++i) {
    if (wanted & ShardBit(i)) result.status = sealer_.Seal(PlaceOf(stripe, i), dest[i], out[i]);
  }
  return result;
}

}  // namespace mosaic::client
