#pragma once
// Systematic Reed–Solomon erasure code over GF(2^8), computed by ISA-L (which picks its
// AVX-512/GFNI, AVX2 or SSE kernels at run time).
//
// A stripe is cut by the caller into k data shards of equal size; the codec computes m parity
// shards of the same size, and rebuilds any missing shards (data or parity) from any k that
// are present. Shard i < k is data shard i; shard k + j is parity shard j.
//
// The encode matrix is fixed forever (it is part of the stored format, docs/formats/crypto.md):
// rows 0..k-1 are the identity, row k + j, column c is 1 / ((k + j) XOR c) in GF(2^8) with
// polynomial 0x11d (ISA-L's gf_gen_cauchy1_matrix). Every k×k submatrix of this Cauchy
// construction is invertible, so any k shards suffice.
//
// No I/O, no threads. Encode and Reconstruct never allocate, except that the first
// Reconstruct of a loss pattern computes and caches its decode tables.
//
// Thread safety: a Codec is immutable except for its decode-table cache, which is guarded;
// every method may be called from any number of threads at once.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace mosaic::erasure {

// k + m is at most this.
inline constexpr int kMaxShards = 32;

// A set of shard indices: bit i stands for shard i.
using ShardMask = uint32_t;

// erasure/ depends on nothing else of ours, so it spells out the spans that common/bytes.h
// names ByteSpan and ConstByteSpan (the same types).
using ByteSpan = std::span<std::byte>;
using ConstByteSpan = std::span<const std::byte>;

inline constexpr ShardMask ShardBit(int index) { return ShardMask{1} << index; }

// The set of shards 0..n-1 (n <= kMaxShards).
inline constexpr ShardMask AllShards(int n) {
  return n >= kMaxShards ? ~ShardMask{0} : ShardBit(n) - 1;
}

class Codec {
 public:
  // Returns a codec for k data and m parity shards, or INVALID_ARGUMENT unless
  // 1 <= k, 0 <= m and k + m <= kMaxShards.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Codec>> Create(int k, int m);

  Codec(const Codec&) = delete;
  Codec& operator=(const Codec&) = delete;

  int k() const { return k_; }
  int m() const { return m_; }
  int n() const { return k_ + m_; }

  // Computes the m parity shards of the k data shards. `data` has k spans and `parity` m
  // spans, all of one size (which may be 0); parity must not overlap data. The caller owns
  // all buffers and keeps them alive for the call. Returns INVALID_ARGUMENT on wrong counts or
  // unequal sizes (nothing written).
  [[nodiscard]] absl::Status Encode(std::span<const ConstByteSpan> data,
                                    std::span<const ByteSpan> parity) const;

  // Rebuilds shards. `shards` has n spans indexed by shard. Shards in `present` hold valid
  // contents and are only read; shards in `wanted` but not in `present` are written. Spans
  // in neither set are ignored and may be empty. All present and written spans must have
  // one size.
  //
  // Uses the k lowest-indexed present shards, so data shards are preferred.
  // Returns OK (nothing to do when wanted ⊆ present); UNAVAILABLE if fewer than k shards are
  // present; INVALID_ARGUMENT on a wrong span count, masks naming shards >= n, or unequal
  // sizes (nothing written in either case).
  [[nodiscard]] absl::Status Reconstruct(std::span<const ByteSpan> shards, ShardMask present,
                                         ShardMask wanted) const;

  // Number of loss patterns whose decode tables are cached (for tests and metrics).
  size_t CachedDecodePatterns() const;

 private:
  // At most this many loss patterns are cached; past it the cache starts again empty.
  static constexpr size_t kMaxCachedPatterns = 1024;

  using Tables = std::vector<uint8_t>;

  Codec(int k, int m);

  // Returns ISA-L tables that compute `targets` from the k shards in `survivors`.
  absl::StatusOr<std::shared_ptr<const Tables>> DecodeTables(ShardMask survivors,
                                                             ShardMask targets) const;
  absl::StatusOr<Tables> ComputeDecodeTables(ShardMask survivors, ShardMask targets) const;

  const int k_;
  const int m_;
  std::vector<uint8_t> encode_matrix_;  // n rows of k coefficients
  std::vector<uint8_t> encode_tables_;  // ec_init_tables of the m parity rows

  mutable absl::Mutex mu_;
  mutable absl::flat_hash_map<uint64_t, std::shared_ptr<const Tables>> decode_cache_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace mosaic::erasure
