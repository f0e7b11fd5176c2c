#include "client/crypto/shard_sealer.h"

#include <openssl/evp.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "gtest/gtest.h"
#include "tests/client/crypto/test_keys.h"

namespace mosaic::client {
namespace {

using Bytes = std::vector<std::byte>;

using testing_keys::CountingKey;
using testing_keys::CountingObjectId;

Bytes Pattern(size_t size, uint8_t seed) {
  Bytes out(size);
  for (size_t i = 0; i < size; ++i) out[i] = std::byte(seed + i * 7);
  return out;
}

ShardSealer MakeSealer(SealAlgorithm algorithm, uint8_t key_first = 0x20,
                       uint8_t object_first = 0x40, int k = 4, int m = 2) {
  auto sealer =
      ShardSealer::Create(algorithm, CountingKey(key_first), CountingObjectId(object_first), k, m);
  EXPECT_TRUE(sealer.ok()) << sealer.status();
  return std::move(sealer).value();
}

Bytes SealOrDie(const ShardSealer& sealer, const ShardPlace& place, const Bytes& plaintext) {
  Bytes sealed(plaintext.size() + kSealTagBytes);
  EXPECT_TRUE(sealer.Seal(place, plaintext, sealed).ok());
  return sealed;
}

absl::StatusCode OpenCode(const ShardSealer& sealer, const ShardPlace& place, const Bytes& sealed) {
  Bytes plaintext(sealed.size() - kSealTagBytes);
  return sealer.Open(place, sealed, plaintext).code();
}

constexpr ShardPlace kPlace{
    .stripe = 5, .shard_index = 2, .last_stripe = false, .stripe_bytes = 4096};

class ShardSealerTest : public testing::TestWithParam<SealAlgorithm> {};

INSTANTIATE_TEST_SUITE_P(Algorithms, ShardSealerTest,
                         testing::Values(SealAlgorithm::kAes256Gcm,
                                         SealAlgorithm::kXChaCha20Poly1305),
                         [](const auto& info) {
                           return info.param == SealAlgorithm::kAes256Gcm ? "Aes256Gcm"
                                                                          : "XChaCha20Poly1305";
                         });

TEST_P(ShardSealerTest, RoundTripsAllSizes) {
  const ShardSealer sealer = MakeSealer(GetParam());
  for (size_t size :
       {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{4097}, size_t{1} << 20}) {
    const Bytes plaintext = Pattern(size, uint8_t(size));
    const Bytes sealed = SealOrDie(sealer, kPlace, plaintext);
    Bytes opened(size);
    ASSERT_TRUE(sealer.Open(kPlace, sealed, opened).ok()) << size;
    EXPECT_TRUE(opened == plaintext) << size;
    if (size >= 16) {
      EXPECT_FALSE(std::equal(plaintext.begin(), plaintext.begin() + 16, sealed.begin()));
    }
  }
}

TEST_P(ShardSealerTest, SealsAndOpensInPlace) {
  const ShardSealer sealer = MakeSealer(GetParam());
  const Bytes plaintext = Pattern(1000, 3);
  Bytes buffer = plaintext;
  buffer.resize(plaintext.size() + kSealTagBytes);
  ASSERT_TRUE(sealer.Seal(kPlace, ByteSpan(buffer).first(1000), buffer).ok());
  EXPECT_TRUE(buffer == SealOrDie(sealer, kPlace, plaintext));
  ASSERT_TRUE(sealer.Open(kPlace, buffer, ByteSpan(buffer).first(1000)).ok());
  EXPECT_TRUE(std::equal(plaintext.begin(), plaintext.end(), buffer.begin()));
}

TEST_P(ShardSealerTest, EveryFlippedBitGivesDataLossAndNoPlaintext) {
  const ShardSealer sealer = MakeSealer(GetParam());
  const Bytes sealed = SealOrDie(sealer, kPlace, Pattern(48, 1));
  for (size_t bit = 0; bit < sealed.size() * 8; ++bit) {
    Bytes tampered = sealed;
    tampered[bit / 8] ^= std::byte(1 << (bit % 8));
    Bytes plaintext(48, std::byte{0x55});
    ASSERT_EQ(sealer.Open(kPlace, tampered, plaintext).code(), absl::StatusCode::kDataLoss)
        << "bit " << bit;
    ASSERT_TRUE(std::all_of(plaintext.begin(), plaintext.end(),
                            [](std::byte b) { return b == std::byte{0}; }));
  }
}

TEST_P(ShardSealerTest, ShardOpensOnlyAtItsOwnPlace) {
  const ShardSealer sealer = MakeSealer(GetParam());
  const Bytes sealed = SealOrDie(sealer, kPlace, Pattern(100, 2));
  ASSERT_EQ(OpenCode(sealer, kPlace, sealed), absl::StatusCode::kOk);
  ShardPlace moved = kPlace;
  moved.shard_index = 3;
  EXPECT_EQ(OpenCode(sealer, moved, sealed), absl::StatusCode::kDataLoss);
  moved = kPlace;
  moved.stripe = 6;
  EXPECT_EQ(OpenCode(sealer, moved, sealed), absl::StatusCode::kDataLoss);
  moved = kPlace;
  moved.last_stripe = true;  // a truncated object presenting this stripe as its last
  EXPECT_EQ(OpenCode(sealer, moved, sealed), absl::StatusCode::kDataLoss);
  moved = kPlace;
  moved.stripe_bytes = 4095;
  EXPECT_EQ(OpenCode(sealer, moved, sealed), absl::StatusCode::kDataLoss);
}

TEST_P(ShardSealerTest, ShardOpensOnlyUnderItsObjectKeyAndProfile) {
  const ShardSealer sealer = MakeSealer(GetParam());
  const Bytes sealed = SealOrDie(sealer, kPlace, Pattern(100, 2));
  EXPECT_EQ(OpenCode(MakeSealer(GetParam(), 0x20, 0x41), kPlace, sealed),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(OpenCode(MakeSealer(GetParam(), 0x21, 0x40), kPlace, sealed),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(OpenCode(MakeSealer(GetParam(), 0x20, 0x40, 3, 3), kPlace, sealed),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(OpenCode(MakeSealer(GetParam(), 0x20, 0x40, 4, 3), kPlace, sealed),
            absl::StatusCode::kDataLoss);
  const SealAlgorithm other = GetParam() == SealAlgorithm::kAes256Gcm
                                  ? SealAlgorithm::kXChaCha20Poly1305
                                  : SealAlgorithm::kAes256Gcm;
  EXPECT_EQ(OpenCode(MakeSealer(other), kPlace, sealed), absl::StatusCode::kDataLoss);
}

TEST_P(ShardSealerTest, RejectsBadSizesAndIndices) {
  const ShardSealer sealer = MakeSealer(GetParam());
  Bytes plaintext(10), sealed(25);
  EXPECT_EQ(sealer.Seal(kPlace, plaintext, sealed).code(), absl::StatusCode::kInvalidArgument);
  ShardPlace bad = kPlace;
  bad.shard_index = 6;
  sealed.resize(26);
  EXPECT_EQ(sealer.Seal(bad, plaintext, sealed).code(), absl::StatusCode::kInvalidArgument);
  Bytes short_sealed(15), empty, short_plaintext(9);
  EXPECT_EQ(sealer.Open(kPlace, short_sealed, empty).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(sealer.Open(kPlace, sealed, short_plaintext).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ShardSealer::Create(GetParam(), SecretBytes(16), ObjectId{}, 4, 2).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ShardSealer::Create(GetParam(), CountingKey(0), ObjectId{}, 0, 2).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ShardSealerFormatTest, KnownAnswers) {
  const Bytes plaintext = Pattern(40, 9);
  EXPECT_EQ(
      HexEncode(SealOrDie(MakeSealer(SealAlgorithm::kAes256Gcm), kPlace, plaintext)),
      "8f94702282381e1e4a57eab8c723c9062fd253e71e551ddd36e34edefeed8137b7e948b420e80e8a2b1ad075"
      "b678a8d15d764d8de2eb5375");
  EXPECT_EQ(
      HexEncode(SealOrDie(MakeSealer(SealAlgorithm::kXChaCha20Poly1305), kPlace, plaintext)),
      "2b9b3cdeace0e6d282f346c8155cee0ed9c652876f70355a17f0738d13fdb40f0229cd5bb8bc9594e0750fe0"
      "b11b2f4b1e51e6d51b570647");
}

// The documented format, rebuilt with OpenSSL directly: nonce LE64(stripe) ‖ shard ‖ 0^3,
// AAD version ‖ algorithm ‖ object ‖ LE64(stripe) ‖ shard ‖ k ‖ m ‖ last ‖ LE64(bytes).
TEST(ShardSealerFormatTest, AesGcmMatchesDocumentedNonceAndAad) {
  const ShardSealer sealer = MakeSealer(SealAlgorithm::kAes256Gcm);
  const Bytes plaintext = Pattern(77, 4);
  std::string aad = std::string("\x01\x01", 2);
  for (int i = 0; i < 16; ++i) aad.push_back(char(0x40 + i));
  aad += std::string("\x05\0\0\0\0\0\0\0\x02\x04\x02\x00\x00\x10\0\0\0\0\0\0", 20);
  ASSERT_EQ(HexEncode(sealer.Aad(kPlace)), HexEncode(AsBytes(aad)));
  const unsigned char nonce[12] = {5, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0};
  const SecretBytes key = CountingKey(0x20);
  Bytes expected(77 + 16);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  ASSERT_EQ(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key.uchar(), nonce), 1);
  ASSERT_EQ(EVP_EncryptUpdate(ctx, nullptr, &len,
                              reinterpret_cast<const unsigned char*>(aad.data()), int(aad.size())),
            1);
  ASSERT_EQ(EVP_EncryptUpdate(ctx, reinterpret_cast<unsigned char*>(expected.data()), &len,
                              reinterpret_cast<const unsigned char*>(plaintext.data()), 77),
            1);
  ASSERT_EQ(EVP_EncryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(expected.data()) + len, &len),
            1);
  ASSERT_EQ(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, expected.data() + 77), 1);
  EVP_CIPHER_CTX_free(ctx);
  EXPECT_EQ(HexEncode(SealOrDie(sealer, kPlace, plaintext)), HexEncode(expected));
}

// Nonces are derived, not random: check that no two shard places of one object share one.
TEST(ShardSealerFormatTest, NoncesAreUniqueOverAMillionStripes) {
  constexpr uint64_t kStripes = 1'000'000;
  constexpr int kShards = 6;
  std::vector<std::array<std::byte, 12>> nonces;
  nonces.reserve(kStripes * kShards);
  for (uint64_t stripe = 0; stripe < kStripes; ++stripe) {
    for (int shard = 0; shard < kShards; ++shard) {
      const auto full = ShardNonce(stripe, shard);
      ASSERT_TRUE(std::all_of(full.begin() + 12, full.end(),
                              [](std::byte b) { return b == std::byte{0}; }));
      std::array<std::byte, 12> nonce;
      std::copy_n(full.begin(), 12, nonce.begin());
      nonces.push_back(nonce);
    }
  }
  std::sort(nonces.begin(), nonces.end());
  EXPECT_EQ(std::adjacent_find(nonces.begin(), nonces.end()), nonces.end());
  EXPECT_NE(ShardNonce(uint64_t{1} << 56, 0), ShardNonce(0, 0));
}

TEST(ShardSealerFormatTest, AlgorithmBytesRoundTrip) {
  EXPECT_EQ(*SealAlgorithmFromByte(1), SealAlgorithm::kAes256Gcm);
  EXPECT_EQ(*SealAlgorithmFromByte(2), SealAlgorithm::kXChaCha20Poly1305);
  EXPECT_EQ(SealAlgorithmFromByte(0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SealAlgorithmFromByte(3).status().code(), absl::StatusCode::kInvalidArgument);
  // Cross-checks libsodium's cpuid probe against the kernel's view of the CPU.
  std::ifstream cpuinfo("/proc/cpuinfo");
  const std::string text((std::istreambuf_iterator<char>(cpuinfo)),
                         std::istreambuf_iterator<char>());
  const bool has_aes =
      text.find(" aes ") != std::string::npos && text.find(" pclmulqdq ") != std::string::npos;
  EXPECT_EQ(PreferredSealAlgorithm(),
            has_aes ? SealAlgorithm::kAes256Gcm : SealAlgorithm::kXChaCha20Poly1305);
}

}  // namespace
}  // namespace mosaic::client
