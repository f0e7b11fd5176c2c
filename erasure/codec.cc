#include "erasure/codec.h"

#include <isa-l/erasure_code.h>

#include <bit>
#include <climits>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace mosaic::erasure {
namespace {

// ISA-L's tables hold 32 bytes per (row, column) coefficient.
constexpr size_t kTableBytesPerCoefficient = 32;

// ISA-L's API takes non-const pointers even for its inputs; it never writes through them.
unsigned char* Mutable(const std::byte* p) {
  return reinterpret_cast<unsigned char*>(const_cast<std::byte*>(p));
}

absl::Status CheckShardLength(size_t size, size_t expected, int index) {
  if (size != expected) {
    return absl::InvalidArgumentError(
        absl::StrCat("shard ", index, " has ", size, " bytes, expected ", expected));
  }
  return absl::OkStatus();
}

absl::Status CheckLengthFitsInt(size_t size) {
  if (size > size_t{INT_MAX}) {
    return absl::InvalidArgumentError(absl::StrCat("shard of ", size, " bytes is too large"));
  }
  return absl::OkStatus();
}

// Returns the k lowest set bits of `mask`.
ShardMask LowestBits(ShardMask mask, int k) {
  ShardMask out = 0;
  for (int taken = 0; taken < k; ++taken) {
    ShardMask lowest = mask & (~mask + 1);
    out |= lowest;
    mask &= ~lowest;
  }
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Codec>> Codec::Create(int k, int m) {
  if (k < 1 || m < 0 || k + m > kMaxShards) {
    return absl::InvalidArgumentError(absl::StrCat("erasure profile k=", k, " m=", m,
                                                   " needs 1 <= k, 0 <= m, k + m <= ", kMaxShards));
  }
  return std::unique_ptr<Codec>(new Codec(k, m));
}

Codec::Codec(int k, int m)
    : k_(k),
      m_(m),
      encode_matrix_(size_t(k + m) * k),
      encode_tables_(size_t(k) * m * kTableBytesPerCoefficient) {
  gf_gen_cauchy1_matrix(encode_matrix_.data(), k + m, k);
  if (m > 0) ec_init_tables(k, m, encode_matrix_.data() + size_t(k) * k, encode_tables_.data());
}

absl::Status Codec::Encode(std::span<const ConstByteSpan> data,
                           std::span<const ByteSpan> parity) const {
  if (data.size() != size_t(k_) || parity.size() != size_t(m_)) {
    return absl::InvalidArgumentError(absl::StrCat("encode needs ", k_, " data and ", m_,
                                                   " parity shards, got ", data.size(), " and ",
                                                   parity.size()));
  }
  const size_t len = data[0].size();
  if (auto s = CheckLengthFitsInt(len); !s.ok()) return s;
  unsigned char* src[kMaxShards];
  unsigned char* dst[kMaxShards];
  for (int i = 0; i < k_; ++i) {
    if (auto s = CheckShardLength(data[i].size(), len, i); !s.ok()) return s;
    src[i] = Mutable(data[i].data());
  }
  for (int j = 0; j < m_; ++j) {
    if (auto s = CheckShardLength(parity[j].size(), len, k_ + j); !s.ok()) return s;
    dst[j] = reinterpret_cast<unsigned char*>(parity[j].data());
  }
  if (m_ == 0 || len == 0) return absl::OkStatus();
  ec_encode_data(int(len), k_, m_, const_cast<unsigned char*>(encode_tables_.data()), src, dst);
  return absl::OkStatus();
}

absl::Status Codec::Reconstruct(std::span<const ByteSpan> shards, ShardMask present,
                                ShardMask wanted) const {
  const ShardMask all = AllShards(n());
  if (shards.size() != size_t(n()) || (present & ~all) != 0 || (wanted & ~all) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("reconstruct needs ", n(), " shards and masks below bit ", n()));
  }
  const ShardMask targets = wanted & ~present;
  if (targets == 0) return absl::OkStatus();
  if (std::popcount(present) < k_) {
    return absl::UnavailableError(
        absl::StrCat("only ", std::popcount(present), " of ", n(), " shards present, need ", k_));
  }
  const ShardMask survivors = LowestBits(present, k_);
  const size_t len = shards[std::countr_zero(survivors)].size();
  if (auto s = CheckLengthFitsInt(len); !s.ok()) return s;
  unsigned char* src[kMaxShards];
  unsigned char* dst[kMaxShards];
  int nsrc = 0;
  int ndst = 0;
  for (int i = 0; i < n(); ++i) {
    if ((survivors | targets) & ShardBit(i)) {
      if (auto s = CheckShardLength(shards[i].size(), len, i); !s.ok()) return s;
    }
    if (survivors & ShardBit(i)) src[nsrc++] = Mutable(shards[i].data());
    if (targets & ShardBit(i)) dst[ndst++] = Mutable(shards[i].data());
  }
  auto tables = DecodeTables(survivors, targets);
  if (!tables.ok()) return tables.status();
  if (len == 0) return absl::OkStatus();
  ec_encode_data(int(len), k_, ndst, const_cast<unsigned char*>((*tables)->data()), src, dst);
  return absl::OkStatus();
}

size_t Codec::CachedDecodePatterns() const {
  absl::MutexLock lock(&mu_);
  return decode_cache_.size();
}

absl::StatusOr<std::shared_ptr<const Codec::Tables>> Codec::DecodeTables(ShardMask survivors,
                                                                         ShardMask targets) const {
  const uint64_t key = uint64_t{survivors} << 32 | targets;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = decode_cache_.find(key);
    if (it != decode_cache_.end()) return it->second;
  }
  auto computed = ComputeDecodeTables(survivors, targets);
  if (!computed.ok()) return computed.status();
  auto tables = std::make_shared<const Tables>(*std::move(computed));
  absl::MutexLock lock(&mu_);
  // Entries in use elsewhere stay alive through their shared_ptr when the cache restarts.
  if (decode_cache_.size() >= kMaxCachedPatterns) decode_cache_.clear();
  decode_cache_.emplace(key, tables);
  return tables;
}

// The survivors' rows of the encode matrix form an invertible k×k matrix B with
// B · data = survivors, so data = B⁻¹ · survivors. A lost data shard d is row d of B⁻¹; a
// lost parity shard p is its encode row times B⁻¹.
absl::StatusOr<Codec::Tables> Codec::ComputeDecodeTables(ShardMask survivors,
                                                         ShardMask targets) const {
  const size_t k = size_t(k_);
  std::vector<uint8_t> b(k * k);
  std::vector<uint8_t> inverse(k * k);
  size_t row = 0;
  for (int i = 0; i < n(); ++i) {
    if (!(survivors & ShardBit(i))) continue;
    std::copy_n(encode_matrix_.begin() + i * k, k, b.begin() + row * k);
    ++row;
  }
  if (gf_invert_matrix(b.data(), inverse.data(), k_) != 0) {
    return absl::InternalError("erasure decode matrix is singular");
  }
  std::vector<uint8_t> rows;
  rows.reserve(k * std::popcount(targets));
  for (int t = 0; t < n(); ++t) {
    if (!(targets & ShardBit(t))) continue;
    for (size_t c = 0; c < k; ++c) {
      if (size_t(t) < k) {
        rows.push_back(inverse[t * k + c]);
        continue;
      }
      uint8_t sum = 0;
      for (size_t l = 0; l < k; ++l) sum ^= gf_mul(encode_matrix_[t * k + l], inverse[l * k + c]);
      rows.push_back(sum);
    }
  }
  Tables tables(rows.size() * kTableBytesPerCoefficient);
  ec_init_tables(k_, std::popcount(targets), rows.data(), tables.data());
  return tables;
}

}  // namespace mosaic::erasure
