#include "erasure/codec.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <numeric>
#include <random>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace mosaic::erasure {
namespace {

// An independent GF(2^8) (polynomial 0x11d) for known answers: the parity format must never
// change, whatever ISA-L does internally.
uint8_t GfMul(uint8_t a, uint8_t b) {
  uint8_t product = 0;
  while (b != 0) {
    if (b & 1) product ^= a;
    a = uint8_t((a << 1) ^ ((a & 0x80) ? 0x1d : 0));
    b >>= 1;
  }
  return product;
}

uint8_t GfInv(uint8_t a) {
  for (int x = 1; x < 256; ++x) {
    if (GfMul(a, uint8_t(x)) == 1) return uint8_t(x);
  }
  return 0;
}

// n shards of `size` bytes; the first k filled from a seeded generator.
struct Stripe {
  Stripe(int k, int m, size_t size, uint32_t seed) : k(k), storage(k + m) {
    std::mt19937 rng(seed);
    for (int i = 0; i < k + m; ++i) {
      storage[i].resize(size);
      if (i < k) {
        for (auto& b : storage[i]) b = std::byte(rng());
      }
    }
  }
  std::vector<ConstByteSpan> Data() const {
    return std::vector<ConstByteSpan>(storage.begin(), storage.begin() + k);
  }
  std::vector<ByteSpan> Parity() {
    return std::vector<ByteSpan>(storage.begin() + k, storage.end());
  }
  std::vector<ByteSpan> All() { return std::vector<ByteSpan>(storage.begin(), storage.end()); }

  int k;
  std::vector<std::vector<std::byte>> storage;
};

std::unique_ptr<Codec> MakeCodec(int k, int m) {
  auto codec = Codec::Create(k, m);
  EXPECT_TRUE(codec.ok()) << codec.status();
  return std::move(codec).value();
}

// Erases the shards outside `present`, rebuilds them all, and compares with the original.
void ExpectRecovers(const Codec& codec, Stripe& stripe, ShardMask present) {
  const auto original = stripe.storage;
  for (int i = 0; i < codec.n(); ++i) {
    if (!(present & ShardBit(i)))
      std::fill(stripe.storage[i].begin(), stripe.storage[i].end(), std::byte{0xEE});
  }
  ASSERT_TRUE(codec.Reconstruct(stripe.All(), present, AllShards(codec.n())).ok())
      << "k=" << codec.k() << " m=" << codec.m() << " present=" << present;
  for (int i = 0; i < codec.n(); ++i) {
    ASSERT_TRUE(stripe.storage[i] == original[i])
        << "shard " << i << " k=" << codec.k() << " m=" << codec.m() << " present=" << present;
  }
}

TEST(CodecTest, ParityMatchesCauchyKnownAnswer) {
  constexpr int kK = 5, kM = 3;
  auto codec = MakeCodec(kK, kM);
  Stripe stripe(kK, kM, 257, 7);
  ASSERT_TRUE(codec->Encode(stripe.Data(), stripe.Parity()).ok());
  for (int j = 0; j < kM; ++j) {
    for (size_t b = 0; b < 257; ++b) {
      uint8_t expected = 0;
      for (int c = 0; c < kK; ++c) {
        expected ^= GfMul(GfInv(uint8_t((kK + j) ^ c)), uint8_t(stripe.storage[c][b]));
      }
      ASSERT_EQ(uint8_t(stripe.storage[kK + j][b]), expected) << "parity " << j << " byte " << b;
    }
  }
}

TEST(CodecTest, SingleDataShardIsReplicated) {
  auto codec = MakeCodec(1, 3);
  Stripe stripe(1, 3, 100, 1);
  ASSERT_TRUE(codec->Encode(stripe.Data(), stripe.Parity()).ok());
  // Row (1 + j) XOR 0 has inverse 1 only for j = 0; the others scale the data.
  EXPECT_TRUE(stripe.storage[1] == stripe.storage[0]);
  EXPECT_TRUE(stripe.storage[2] != stripe.storage[0]);
}

TEST(CodecTest, EveryLossPatternRecoversForSmallProfiles) {
  for (int n = 1; n <= 9; ++n) {
    for (int k = 1; k <= n; ++k) {
      const int m = n - k;
      auto codec = MakeCodec(k, m);
      Stripe stripe(k, m, 37, uint32_t(n * 100 + k));
      ASSERT_TRUE(codec->Encode(stripe.Data(), stripe.Parity()).ok());
      const ShardMask all = AllShards(n);
      int patterns = 0;
      for (ShardMask present = 0; present <= all; ++present) {
        if (std::popcount(present) < k) continue;
        ExpectRecovers(*codec, stripe, present);
        ++patterns;
      }
      EXPECT_GE(patterns, 1);
    }
  }
}

TEST(CodecTest, RandomLossPatternsRecoverForWideProfiles) {
  std::mt19937 rng(42);
  for (auto [k, m] : {std::pair{10, 4}, std::pair{16, 4}, std::pair{17, 15}}) {
    auto codec = MakeCodec(k, m);
    Stripe stripe(k, m, 4099, uint32_t(k));
    ASSERT_TRUE(codec->Encode(stripe.Data(), stripe.Parity()).ok());
    for (int round = 0; round < 60; ++round) {
      std::vector<int> order(k + m);
      std::iota(order.begin(), order.end(), 0);
      std::shuffle(order.begin(), order.end(), rng);
      ShardMask present = 0;
      const int keep = k + int(rng() % (m + 1));
      for (int i = 0; i < keep; ++i) present |= ShardBit(order[i]);
      ExpectRecovers(*codec, stripe, present);
    }
  }
}

TEST(CodecTest, ShardSizesFromOneByteToOneMiB) {
  auto codec = MakeCodec(4, 2);
  for (size_t size : {size_t{1}, size_t{15}, size_t{31}, size_t{33}, size_t{4095}, size_t{65537},
                      size_t{1} << 20}) {
    Stripe stripe(4, 2, size, uint32_t(size));
    ASSERT_TRUE(codec->Encode(stripe.Data(), stripe.Parity()).ok());
    ExpectRecovers(*codec, stripe, ShardBit(1) | ShardBit(3) | ShardBit(4) | ShardBit(5));
    ExpectRecovers(*codec, stripe, ShardBit(0) | ShardBit(2) | ShardBit(3) | ShardBit(5));
  }
}

TEST(CodecTest, EmptyShardsEncodeAndReconstruct) {
  auto codec = MakeCodec(3, 2);
  Stripe stripe(3, 2, 0, 0);
  EXPECT_TRUE(codec->Encode(stripe.Data(), stripe.Parity()).ok());
  EXPECT_TRUE(codec->Reconstruct(stripe.All(), 0b11100, 0b00011).ok());
}

TEST(CodecTest, NoParityMeansEncodeIsANoOp) {
  auto codec = MakeCodec(4, 0);
  Stripe stripe(4, 0, 64, 3);
  EXPECT_TRUE(codec->Encode(stripe.Data(), stripe.Parity()).ok());
  EXPECT_TRUE(codec->Reconstruct(stripe.All(), 0b1111, 0b1111).ok());
  EXPECT_EQ(codec->Reconstruct(stripe.All(), 0b0111, 0b1111).code(),
            absl::StatusCode::kUnavailable);
}

TEST(CodecTest, RejectsBadProfiles) {
  for (auto [k, m] :
       {std::pair{0, 2}, std::pair{-1, 1}, std::pair{4, -1}, std::pair{30, 3}, std::pair{33, 0}}) {
    EXPECT_EQ(Codec::Create(k, m).status().code(), absl::StatusCode::kInvalidArgument)
        << k << "+" << m;
  }
  EXPECT_TRUE(Codec::Create(32, 0).ok());
  EXPECT_TRUE(Codec::Create(1, 31).ok());
}

TEST(CodecTest, RejectsUnequalOrMiscountedShards) {
  auto codec = MakeCodec(4, 2);
  Stripe stripe(4, 2, 64, 5);
  stripe.storage[2].resize(63);
  EXPECT_EQ(codec->Encode(stripe.Data(), stripe.Parity()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(codec->Reconstruct(stripe.All(), 0b111101, 0b000010).code(),
            absl::StatusCode::kInvalidArgument);
  stripe.storage[2].resize(64);
  auto parity = stripe.Parity();
  parity.pop_back();
  EXPECT_EQ(codec->Encode(stripe.Data(), parity).code(), absl::StatusCode::kInvalidArgument);
  auto all = stripe.All();
  EXPECT_EQ(codec->Reconstruct(all, 0b1111111, 0b1).code(), absl::StatusCode::kInvalidArgument);
  all.pop_back();
  EXPECT_EQ(codec->Reconstruct(all, 0b11110, 0b1).code(), absl::StatusCode::kInvalidArgument);
}

TEST(CodecTest, TooFewShardsIsUnavailable) {
  auto codec = MakeCodec(4, 2);
  Stripe stripe(4, 2, 64, 5);
  EXPECT_EQ(codec->Reconstruct(stripe.All(), 0b101010, 0b000001).code(),
            absl::StatusCode::kUnavailable);
}

TEST(CodecTest, OnlyWantedShardsAreWritten) {
  auto codec = MakeCodec(4, 2);
  Stripe stripe(4, 2, 128, 9);
  ASSERT_TRUE(codec->Encode(stripe.Data(), stripe.Parity()).ok());
  const auto original = stripe.storage;
  std::fill(stripe.storage[0].begin(), stripe.storage[0].end(), std::byte{1});
  std::fill(stripe.storage[4].begin(), stripe.storage[4].end(), std::byte{1});
  ASSERT_TRUE(codec->Reconstruct(stripe.All(), 0b101110, 0b000001).ok());
  EXPECT_TRUE(stripe.storage[0] == original[0]);
  EXPECT_TRUE(stripe.storage[4] != original[4]);
}

TEST(CodecTest, DecodeTablesAreCachedPerLossPattern) {
  auto codec = MakeCodec(4, 2);
  Stripe stripe(4, 2, 64, 5);
  ASSERT_TRUE(codec->Encode(stripe.Data(), stripe.Parity()).ok());
  EXPECT_EQ(codec->CachedDecodePatterns(), 0u);
  ExpectRecovers(*codec, stripe, 0b111110);
  ExpectRecovers(*codec, stripe, 0b111110);
  EXPECT_EQ(codec->CachedDecodePatterns(), 1u);
  ExpectRecovers(*codec, stripe, 0b111101);
  EXPECT_EQ(codec->CachedDecodePatterns(), 2u);
}

TEST(CodecTest, ConcurrentReconstructionsAgree) {
  auto codec = MakeCodec(6, 3);
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Stripe stripe(6, 3, 1000, uint32_t(t));
      if (!codec->Encode(stripe.Data(), stripe.Parity()).ok()) ++failures[t];
      const auto original = stripe.storage;
      for (ShardMask present = 0; present < ShardBit(9); ++present) {
        if (std::popcount(present) != 6) continue;
        if (!codec->Reconstruct(stripe.All(), present, ShardBit(9) - 1).ok()) ++failures[t];
        if (!(stripe.storage == original)) ++failures[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace mosaic::erasure
