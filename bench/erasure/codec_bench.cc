// Erasure codec benchmarks (issue 3): erasure::Codec against raw ISA-L and memcpy in the same
// process.
//
//   BM_Encode_Mosaic/K+M/SIZE          Codec::Encode of k data shards of SIZE
//   BM_Encode_RawIsal/K+M/SIZE         ec_encode_data with the same tables
//   BM_Reconstruct_Mosaic/K+M/SIZE/L   Codec::Reconstruct of L lost data shards (1 and m)
//   BM_Reconstruct_RawIsal/K+M/SIZE/L  ec_encode_data with precomputed decode tables
//   BM_Memcpy/K+M/SIZE                 copying the k data shards once
//
// Bytes processed are the k data shards. Ratios to the baselines are printed at the end.

#include <benchmark/benchmark.h>
#include <isa-l/erasure_code.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "bench/ratio_reporter.h"
#include "common/aligned_buffer.h"
#include "common/check.h"
#include "erasure/codec.h"

namespace mosaic::bench {
namespace {

using erasure::ShardBit;
using erasure::ShardMask;

struct Profile {
  int k;
  int m;
};
constexpr Profile kProfiles[] = {{4, 2}, {6, 3}, {8, 4}, {10, 4}, {16, 4}};
constexpr size_t kShardSizes[] = {size_t{256} << 10, size_t{1} << 20};

std::string Suffix(Profile p, size_t shard_bytes) {
  return std::to_string(p.k) + "+" + std::to_string(p.m) + "/" + std::to_string(shard_bytes >> 10) +
         "KiB";
}

// n aligned shards; the data shards hold seeded random bytes.
struct Shards {
  Shards(Profile p, size_t shard_bytes) {
    std::mt19937 rng(p.k * 100 + p.m);
    for (int i = 0; i < p.k + p.m; ++i) {
      buffers.emplace_back(shard_bytes, 64);
      for (auto& b : buffers.back().span()) b = std::byte(rng());
      pointers.push_back(reinterpret_cast<unsigned char*>(buffers.back().data()));
      spans.push_back(buffers.back().span());
    }
  }
  std::vector<AlignedBuffer> buffers;
  std::vector<unsigned char*> pointers;
  std::vector<ByteSpan> spans;
};

void SetBytes(benchmark::State& state, Profile p, size_t shard_bytes) {
  state.SetBytesProcessed(int64_t(state.iterations()) * p.k * int64_t(shard_bytes));
}

void BM_Encode_Mosaic(benchmark::State& state, Profile p, size_t shard_bytes) {
  auto codec = std::move(erasure::Codec::Create(p.k, p.m)).value();
  Shards shards(p, shard_bytes);
  std::vector<ConstByteSpan> data(shards.spans.begin(), shards.spans.begin() + p.k);
  std::vector<ByteSpan> parity(shards.spans.begin() + p.k, shards.spans.end());
  for (auto _ : state) {
    CHECK(codec->Encode(data, parity).ok());
    benchmark::ClobberMemory();
  }
  SetBytes(state, p, shard_bytes);
}

void BM_Encode_RawIsal(benchmark::State& state, Profile p, size_t shard_bytes) {
  std::vector<unsigned char> matrix(size_t(p.k + p.m) * p.k), tables(32 * p.k * p.m);
  gf_gen_cauchy1_matrix(matrix.data(), p.k + p.m, p.k);
  ec_init_tables(p.k, p.m, matrix.data() + p.k * p.k, tables.data());
  Shards shards(p, shard_bytes);
  for (auto _ : state) {
    ec_encode_data(int(shard_bytes), p.k, p.m, tables.data(), shards.pointers.data(),
                   shards.pointers.data() + p.k);
    benchmark::ClobberMemory();
  }
  SetBytes(state, p, shard_bytes);
}

// The lost shards are data shards 0..lost-1: the costliest case, as the read path sees it.
void BM_Reconstruct_Mosaic(benchmark::State& state, Profile p, size_t shard_bytes, int lost) {
  auto codec = std::move(erasure::Codec::Create(p.k, p.m)).value();
  Shards shards(p, shard_bytes);
  const ShardMask wanted = ShardBit(lost) - 1;
  const ShardMask present = erasure::AllShards(p.k + p.m) & ~wanted;
  for (auto _ : state) {
    CHECK(codec->Reconstruct(shards.spans, present, wanted).ok());
    benchmark::ClobberMemory();
  }
  SetBytes(state, p, shard_bytes);
}

void BM_Reconstruct_RawIsal(benchmark::State& state, Profile p, size_t shard_bytes, int lost) {
  const int k = p.k;
  std::vector<unsigned char> matrix(size_t(k + p.m) * k), b(k * k), inverse(k * k);
  gf_gen_cauchy1_matrix(matrix.data(), k + p.m, k);
  // Survivors: shards lost .. lost + k - 1; their rows, inverted, give the lost data rows.
  std::memcpy(b.data(), matrix.data() + lost * k, size_t(k) * k);
  CHECK(gf_invert_matrix(b.data(), inverse.data(), k) == 0);
  std::vector<unsigned char> tables(32 * k * lost);
  ec_init_tables(k, lost, inverse.data(), tables.data());
  Shards shards(p, shard_bytes);
  for (auto _ : state) {
    ec_encode_data(int(shard_bytes), k, lost, tables.data(), shards.pointers.data() + lost,
                   shards.pointers.data());
    benchmark::ClobberMemory();
  }
  SetBytes(state, p, shard_bytes);
}

void BM_Memcpy(benchmark::State& state, Profile p, size_t shard_bytes) {
  AlignedBuffer from(p.k * shard_bytes, 64), to(p.k * shard_bytes, 64);
  std::memset(from.data(), 7, from.size());
  for (auto _ : state) {
    std::memcpy(to.data(), from.data(), from.size());
    benchmark::ClobberMemory();
  }
  SetBytes(state, p, shard_bytes);
}

void RegisterAll() {
  for (Profile p : kProfiles) {
    for (size_t size : kShardSizes) {
      const std::string s = Suffix(p, size);
      benchmark::RegisterBenchmark(("BM_Encode_Mosaic/" + s).c_str(), BM_Encode_Mosaic, p, size);
      benchmark::RegisterBenchmark(("BM_Encode_RawIsal/" + s).c_str(), BM_Encode_RawIsal, p, size);
      benchmark::RegisterBenchmark(("BM_Memcpy/" + s).c_str(), BM_Memcpy, p, size);
      for (int lost : {1, p.m}) {
        const std::string l = s + "/" + std::to_string(lost);
        benchmark::RegisterBenchmark(("BM_Reconstruct_Mosaic/" + l).c_str(), BM_Reconstruct_Mosaic,
                                     p, size, lost);
        benchmark::RegisterBenchmark(("BM_Reconstruct_RawIsal/" + l).c_str(),
                                     BM_Reconstruct_RawIsal, p, size, lost);
      }
    }
  }
}

void PrintRatios(const RatioReporter& reporter) {
  for (Profile p : kProfiles) {
    for (size_t size : kShardSizes) {
      const std::string s = Suffix(p, size);
      reporter.PrintRatio("BM_Encode_Mosaic/" + s, "BM_Encode_RawIsal/" + s);
      reporter.PrintRatio("BM_Encode_Mosaic/" + s, "BM_Memcpy/" + s);
      for (int lost : {1, p.m}) {
        const std::string l = s + "/" + std::to_string(lost);
        reporter.PrintRatio("BM_Reconstruct_Mosaic/" + l, "BM_Reconstruct_RawIsal/" + l);
      }
    }
  }
}

}  // namespace
}  // namespace mosaic::bench

int main(int argc, char** argv) {
  mosaic::bench::RegisterAll();
  mosaic::bench::RatioReporter reporter;
  if (!mosaic::bench::RunWithReporter(argc, argv, reporter)) return 1;
  mosaic::bench::PrintRatios(reporter);
  return 0;
}
