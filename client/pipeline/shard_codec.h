#pragma once
// The shard codec: one plaintext stripe <-> k + m sealed shards. Erasure-code first, then
// seal every shard on its own (docs/formats/crypto.md), so each shard is verified alone and
// a shard that fails its tag is pinned to its index, i.e. to the node that served it.
//
// Writing: EncodeStripe cuts the stripe into k data shards, computes m parity shards and
// seals all n into caller buffers; ChunkIdOf names each for the nodes.
// Reading: DecodeStripe opens shards, data shards first, until k have verified, rebuilds any
// missing data shards from parity, and writes the plaintext. A shard that fails is reported
// by index (DATA_LOSS) and replaced by the next available one.
// Repair: RebuildShards re-creates lost shards, sealed to the very bytes they had.
//
// Thread safety: a ShardCodec is immutable; any number of threads may use it at once, each
// with its own Workspace. Nothing here blocks or does I/O.

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/crypto/key_ring.h"
#include "client/crypto/shard_sealer.h"
#include "client/pipeline/stripe_layout.h"
#include "common/aligned_buffer.h"
#include "common/bytes.h"
#include "erasure/codec.h"

namespace mosaic::client {

struct ShardCodecOptions {
  int k = 4;
  int m = 2;
  uint64_t stripe_bytes = kDefaultStripeBytes;
  SealAlgorithm algorithm = SealAlgorithm::kAes256Gcm;
};

// A shard that could not be used, by index, with why (DATA_LOSS: wrong size or failed tag).
struct ShardFault {
  int shard_index = 0;
  absl::Status status;
};

// The outcome of reading a stripe. `faults` is filled whatever `status` is, so the caller can
// blame and repair the shards it names even when the stripe could not be read.
struct [[nodiscard]] StripeReadResult {
  // OK; UNAVAILABLE if fewer than k shards verified; INVALID_ARGUMENT for bad arguments.
  absl::Status status;
  std::vector<ShardFault> faults;
  erasure::ShardMask verified = 0;  // shards opened successfully
};

class ShardCodec {
 public:
  // Scratch memory for reading and repairing stripes: n shard slots of the shard size the
  // call needs (not the largest shard: a 64 KiB object's workspace is about 100 KiB), taken
  // from BufferPool::Global() at the first call and given back when the workspace is
  // destroyed, so making one per call costs a pool lookup. Never zeroed.
  // One call at a time; use it only with the codec that made it, or one with the same k, m
  // and stripe size (CHECKed).
  class Workspace {
   public:
    Workspace(Workspace&&) noexcept = default;
    Workspace& operator=(Workspace&&) noexcept = default;
    ~Workspace();

    // Slot `shard_index`, `bytes` long. A call with another `bytes` than the previous one
    // lays the slots out anew: spans from before it are no longer valid.
    ByteSpan Slot(int shard_index, size_t bytes);

   private:
    friend class ShardCodec;
    Workspace(int n, size_t max_slot_bytes);
    AlignedBuffer buffer_;
    int n_ = 0;
    size_t max_slot_bytes_ = 0;
    size_t stride_ = 0;  // bytes per slot in buffer_
  };

  // INVALID_ARGUMENT for a bad profile (1 <= k, 0 <= m, k + m <= 32), a zero stripe size,
  // shards over 1 GiB, or a data key that is not kKeyBytes long. `ring` is borrowed: it must
  // outlive the codec. The data key and object id are copied.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ShardCodec>> Create(
      const ShardCodecOptions& options, const KeyRing& ring, const SecretBytes& data_key,
      const ObjectId& object);

  int k() const { return codec_->k(); }
  int m() const { return codec_->m(); }
  int n() const { return codec_->n(); }
  uint64_t stripe_bytes() const { return stripe_bytes_; }
  const ObjectId& object_id() const { return object_; }

  // Size of each sealed shard of a stripe with `plaintext_bytes`: ceil(bytes / k) + 16.
  size_t SealedShardBytes(uint64_t plaintext_bytes) const;

  // The chunk id under which shard `shard_index` of stripe `stripe` is stored.
  ChunkId ChunkIdOf(uint64_t stripe, int shard_index) const;

  Workspace NewWorkspace() const;

  // Seals `plaintext` (stripe.plaintext_bytes <= stripe_bytes() bytes) into n buffers of
  // SealedShardBytes() each, indexed by shard; they must not overlap the plaintext or each
  // other. INVALID_ARGUMENT on wrong sizes or counts.
  [[nodiscard]] absl::Status EncodeStripe(const StripeInfo& stripe, ConstByteSpan plaintext,
                                          std::span<const ByteSpan> sealed) const;

  // Recovers the plaintext (stripe.plaintext_bytes bytes) from `sealed`: n spans indexed by
  // shard, empty for a shard that is missing. Uses at most k verified shards (data shards
  // first) and writes `plaintext` only from verified or rebuilt shards.
  StripeReadResult DecodeStripe(const StripeInfo& stripe, std::span<const ConstByteSpan> sealed,
                                ByteSpan plaintext, Workspace& workspace) const;

  // Re-creates the sealed shards in `wanted` from the others in `sealed` (as DecodeStripe)
  // into `out` (n spans; those in `wanted` of SealedShardBytes() each). A rebuilt shard is
  // byte-identical to the one first written.
  StripeReadResult RebuildShards(const StripeInfo& stripe, std::span<const ConstByteSpan> sealed,
                                 erasure::ShardMask wanted, std::span<const ByteSpan> out,
                                 Workspace& workspace) const;

 private:
  ShardCodec(std::unique_ptr<erasure::Codec> codec, ShardSealer sealer, const KeyRing& ring,
             const ObjectId& object, uint64_t stripe_bytes);

  absl::Status CheckStripe(const StripeInfo& stripe, size_t plaintext_bytes) const;
  ShardPlace PlaceOf(const StripeInfo& stripe, int shard_index) const;
  // Opens shards into `dest` until k verify; records faults.
  StripeReadResult OpenShards(const StripeInfo& stripe, std::span<const ConstByteSpan> sealed,
                              std::span<const ByteSpan> dest) const;

  std::unique_ptr<erasure::Codec> codec_;
  ShardSealer sealer_;
  const KeyRing* ring_;
  ObjectId object_;
  uint64_t stripe_bytes_;
};

}  // namespace mosaic::client
