#include "client/pipeline/shard_codec.h"

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "gtest/gtest.h"
#include "tests/client/crypto/test_keys.h"

namespace mosaic::client {
namespace {

using erasure::ShardBit;
using erasure::ShardMask;
using testing_keys::CountingKey;
using testing_keys::CountingObjectId;
using Bytes = std::vector<std::byte>;

std::vector<ConstByteSpan> Spans(const std::vector<Bytes>& shards) {
  return std::vector<ConstByteSpan>(shards.begin(), shards.end());
}

// Decodes `shards` into `out` (sized by the caller) with a fresh workspace.
StripeReadResult Decode(const ShardCodec& codec, const StripeInfo& stripe,
                        const std::vector<Bytes>& shards, Bytes& out) {
  auto workspace = codec.NewWorkspace();
  return codec.DecodeStripe(stripe, Spans(shards), out, workspace);
}

// Small stripes keep the exhaustive patterns fast; the arithmetic is the same as at 4 MiB.
constexpr uint64_t kStripe = 6000;

Bytes RandomBytes(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes out(size);
  for (auto& b : out) b = std::byte(rng());
  return out;
}

class ShardCodecTest : public testing::Test {
 protected:
  ShardCodecTest() : ring_(*KeyRing::FromMasterKey(CountingKey(0))) {}

  std::unique_ptr<ShardCodec> MakeCodec(SealAlgorithm algorithm = SealAlgorithm::kAes256Gcm,
                                        uint8_t object = 0x40, int k = 4, int m = 2) {
    auto codec =
        ShardCodec::Create({.k = k, .m = m, .stripe_bytes = kStripe, .algorithm = algorithm}, ring_,
                           CountingKey(0x20), CountingObjectId(object));
    EXPECT_TRUE(codec.ok()) << codec.status();
    return std::move(codec).value();
  }

  // The sealed shards of one stripe.
  std::vector<Bytes> Encode(const ShardCodec& codec, const StripeInfo& stripe,
                            ConstByteSpan plaintext) {
    std::vector<Bytes> shards(codec.n(), Bytes(codec.SealedShardBytes(stripe.plaintext_bytes)));
    std::vector<ByteSpan> spans(shards.begin(), shards.end());
    EXPECT_TRUE(codec.EncodeStripe(stripe, plaintext, spans).ok());
    return shards;
  }

  KeyRing ring_;
};

// Every combination of up to m missing or corrupted shards (each shard: fine, missing or
// corrupted) still decodes; faults name exactly the corrupted shards that were tried.
void ExpectDecodesUnderEveryFaultPattern(const ShardCodec& codec, const StripeInfo& stripe,
                                         const Bytes& plaintext, const std::vector<Bytes>& shards) {
  auto workspace = codec.NewWorkspace();
  int patterns = 0;
  for (int code = 0; code < 729; ++code) {  // 3^6 states for 4+2
    ShardMask missing = 0, corrupted = 0;
    for (int i = 0, c = code; i < codec.n(); ++i, c /= 3) {
      if (c % 3 == 1) missing |= ShardBit(i);
      if (c % 3 == 2) corrupted |= ShardBit(i);
    }
    if (std::popcount(missing | corrupted) > codec.m()) continue;
    ++patterns;
    std::vector<Bytes> damaged = shards;
    for (int i = 0; i < codec.n(); ++i) {
      if (missing & ShardBit(i)) damaged[i].clear();
      if (corrupted & ShardBit(i))
        damaged[i][(i * 7919 + code) % damaged[i].size()] ^= std::byte{4};
    }
    Bytes out(plaintext.size(), std::byte{0xAA});
    auto spans = Spans(damaged);
    const StripeReadResult result = codec.DecodeStripe(stripe, spans, out, workspace);
    ASSERT_TRUE(result.status.ok()) << result.status << " pattern " << code;
    ASSERT_TRUE(out == plaintext) << "pattern " << code;
    ShardMask faulted = 0;
    for (const ShardFault& fault : result.faults) {
      EXPECT_EQ(fault.status.code(), absl::StatusCode::kDataLoss);
      faulted |= ShardBit(fault.shard_index);
    }
    EXPECT_EQ(faulted & ~corrupted, 0u) << "pattern " << code;
    EXPECT_EQ(corrupted & erasure::AllShards(codec.k()) & ~faulted, 0u) << "pattern " << code;
  }
  EXPECT_EQ(patterns, 73);
}

TEST_F(ShardCodecTest, RoundTripsEveryObjectSizeUnderEveryFaultPattern) {
  const auto codec = MakeCodec();
  for (uint64_t size :
       {uint64_t{0}, uint64_t{1}, kStripe - 1, kStripe, kStripe + 1, 3 * kStripe + 7}) {
    const Bytes object = RandomBytes(size, uint32_t(size));
    const StripeLayout layout = *StripeLayout::Create(size, kStripe, codec->k());
    for (uint64_t s = 0; s < layout.StripeCount(); ++s) {
      const StripeInfo stripe = layout.Stripe(s);
      const Bytes plaintext(object.begin() + s * kStripe,
                            object.begin() + s * kStripe + stripe.plaintext_bytes);
      const auto shards = Encode(*codec, stripe, plaintext);
      SCOPED_TRACE("object of " + std::to_string(size) + " bytes, stripe " + std::to_string(s));
      ExpectDecodesUnderEveryFaultPattern(*codec, stripe, plaintext, shards);
    }
  }
}

TEST_F(ShardCodecTest, XChaChaRoundTrips) {
  const auto codec = MakeCodec(SealAlgorithm::kXChaCha20Poly1305);
  const StripeInfo stripe{.index = 9, .plaintext_bytes = 4321, .last = true};
  const Bytes plaintext = RandomBytes(4321, 1);
  auto shards = Encode(*codec, stripe, plaintext);
  shards[1].clear();
  shards[3][0] ^= std::byte{1};
  Bytes out(4321);
  const StripeReadResult result = Decode(*codec, stripe, shards, out);
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_TRUE(out == plaintext);
  ASSERT_EQ(result.faults.size(), 1u);
  EXPECT_EQ(result.faults[0].shard_index, 3);
}

TEST_F(ShardCodecTest, TooManyBadShardsIsUnavailableAndNamesThem) {
  const auto codec = MakeCodec();
  const StripeInfo stripe{.index = 0, .plaintext_bytes = kStripe, .last = false};
  auto shards = Encode(*codec, stripe, RandomBytes(kStripe, 2));
  shards[0][10] ^= std::byte{1};
  shards[2].back() ^= std::byte{1};  // the tag
  shards[5].clear();
  Bytes out(kStripe, std::byte{0x11});
  const StripeReadResult result = Decode(*codec, stripe, shards, out);
  EXPECT_EQ(result.status.code(), absl::StatusCode::kUnavailable);
  ASSERT_EQ(result.faults.size(), 2u);
  EXPECT_EQ(result.faults[0].shard_index, 0);
  EXPECT_EQ(result.faults[1].shard_index, 2);
  EXPECT_EQ(result.verified, ShardBit(1) | ShardBit(3) | ShardBit(4));
}

TEST_F(ShardCodecTest, SwappedShardsAreCaughtAndReplaced) {
  const auto codec = MakeCodec();
  const StripeInfo stripe{.index = 3, .plaintext_bytes = kStripe, .last = false};
  const Bytes plaintext = RandomBytes(kStripe, 3);
  auto shards = Encode(*codec, stripe, plaintext);
  std::swap(shards[0], shards[1]);
  Bytes out(kStripe);
  const StripeReadResult result = Decode(*codec, stripe, shards, out);
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_TRUE(out == plaintext);
  ASSERT_EQ(result.faults.size(), 2u);
  EXPECT_EQ(result.verified, ShardBit(2) | ShardBit(3) | ShardBit(4) | ShardBit(5));
}

TEST_F(ShardCodecTest, ShardsFromAnotherStripeOrObjectAreRejected) {
  const auto codec = MakeCodec();
  const auto other_object = MakeCodec(SealAlgorithm::kAes256Gcm, 0x41);
  const StripeInfo stripe{.index = 1, .plaintext_bytes = kStripe, .last = false};
  const StripeInfo next{.index = 2, .plaintext_bytes = kStripe, .last = false};
  const Bytes plaintext = RandomBytes(kStripe, 4);
  auto shards = Encode(*codec, stripe, plaintext);
  shards[1] = Encode(*codec, next, plaintext)[1];
  shards[2] = Encode(*other_object, stripe, plaintext)[2];
  Bytes out(kStripe);
  const StripeReadResult result = Decode(*codec, stripe, shards, out);
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_TRUE(out == plaintext);
  ASSERT_EQ(result.faults.size(), 2u);
  EXPECT_EQ(result.faults[0].shard_index, 1);
  EXPECT_EQ(result.faults[1].shard_index, 2);
}

TEST_F(ShardCodecTest, TruncatedObjectIsDetected) {
  // Dropping the last stripe and presenting the one before as last fails every tag.
  const auto codec = MakeCodec();
  const StripeInfo middle{.index = 1, .plaintext_bytes = kStripe, .last = false};
  const auto shards = Encode(*codec, middle, RandomBytes(kStripe, 5));
  StripeInfo as_last = middle;
  as_last.last = true;
  Bytes out(kStripe);
  const StripeReadResult result = Decode(*codec, as_last, shards, out);
  EXPECT_EQ(result.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(result.faults.size(), 6u);
  EXPECT_EQ(result.verified, 0u);
}

TEST_F(ShardCodecTest, WrongKeyFailsEveryShard) {
  const auto codec = MakeCodec();
  auto wrong = ShardCodec::Create({.k = 4, .m = 2, .stripe_bytes = kStripe}, ring_,
                                  CountingKey(0x21), CountingObjectId(0x40));
  ASSERT_TRUE(wrong.ok());
  const StripeInfo stripe{.index = 0, .plaintext_bytes = 10, .last = true};
  const auto shards = Encode(*codec, stripe, RandomBytes(10, 6));
  Bytes out(10);
  const StripeReadResult result = Decode(**wrong, stripe, shards, out);
  EXPECT_EQ(result.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(result.faults.size(), 6u);
}

TEST_F(ShardCodecTest, RebuiltShardsAreByteIdentical) {
  const auto codec = MakeCodec();
  const StripeInfo stripe{.index = 7, .plaintext_bytes = 5003, .last = true};
  const auto shards = Encode(*codec, stripe, RandomBytes(5003, 7));
  for (ShardMask lost : {ShardMask{0b000011}, ShardMask{0b110000}, ShardMask{0b010100}}) {
    std::vector<Bytes> damaged = shards;
    std::vector<Bytes> rebuilt(codec->n(), Bytes(codec->SealedShardBytes(5003)));
    for (int i = 0; i < codec->n(); ++i) {
      if (lost & ShardBit(i)) damaged[i].clear();
    }
    std::vector<ByteSpan> out(rebuilt.begin(), rebuilt.end());
    auto workspace = codec->NewWorkspace();
    const StripeReadResult result =
        codec->RebuildShards(stripe, Spans(damaged), lost, out, workspace);
    ASSERT_TRUE(result.status.ok()) << result.status;
    for (int i = 0; i < codec->n(); ++i) {
      if (lost & ShardBit(i)) {
        EXPECT_TRUE(rebuilt[i] == shards[i]) << "shard " << i;
      }
    }
  }
}

TEST_F(ShardCodecTest, ChunkIdsAreDistinctAndMatchTheKeyRing) {
  const auto codec = MakeCodec();
  std::set<std::string> ids;
  for (uint64_t stripe = 0; stripe < 50; ++stripe) {
    for (int shard = 0; shard < codec->n(); ++shard) {
      const ChunkId id = codec->ChunkIdOf(stripe, shard);
      EXPECT_EQ(id, ring_.ComputeChunkId(CountingObjectId(0x40), stripe, shard));
      ids.insert(HexEncode(id));
    }
  }
  EXPECT_EQ(ids.size(), 300u);
}

TEST_F(ShardCodecTest, RejectsBadArguments) {
  const auto codec = MakeCodec();
  const Bytes plaintext = RandomBytes(100, 8);
  const StripeInfo short_middle{.index = 0, .plaintext_bytes = 100, .last = false};
  std::vector<Bytes> shards(6, Bytes(codec->SealedShardBytes(100)));
  std::vector<ByteSpan> spans(shards.begin(), shards.end());
  EXPECT_EQ(codec->EncodeStripe(short_middle, plaintext, spans).code(),
            absl::StatusCode::kInvalidArgument);
  const StripeInfo last{.index = 0, .plaintext_bytes = 100, .last = true};
  spans.pop_back();
  EXPECT_EQ(codec->EncodeStripe(last, plaintext, spans).code(), absl::StatusCode::kInvalidArgument);
  shards[0].pop_back();
  spans.assign(shards.begin(), shards.end());
  EXPECT_EQ(codec->EncodeStripe(last, plaintext, spans).code(), absl::StatusCode::kInvalidArgument);
  Bytes out(99);
  auto workspace = codec->NewWorkspace();
  EXPECT_EQ(codec->DecodeStripe(last, Spans(shards), out, workspace).status.code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(ShardCodec::Create({.k = 0}, ring_, CountingKey(0), ObjectId{}).ok());
  EXPECT_FALSE(ShardCodec::Create({.k = 30, .m = 3}, ring_, CountingKey(0), ObjectId{}).ok());
  EXPECT_FALSE(ShardCodec::Create({.stripe_bytes = 0}, ring_, CountingKey(0), ObjectId{}).ok());
}

}  // namespace
}  // namespace mosaic::client
