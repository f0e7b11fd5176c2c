#include "client/crypto/key_ring.h"

#include <sodium.h>

#include <set>
#include <string>

#include "common/bytes.h"
#include "gtest/gtest.h"
#include "tests/client/crypto/test_keys.h"

namespace mosaic::client {
namespace {

using testing_keys::CountingKey;
using testing_keys::CountingObjectId;

KeyRing MakeRing(uint8_t first = 0) {
  auto ring = KeyRing::FromMasterKey(CountingKey(first));
  EXPECT_TRUE(ring.ok()) << ring.status();
  return std::move(ring).value();
}

std::string Hex(ConstByteSpan b) { return HexEncode(b); }

// Known answers, computed once with this code and checked in: the derivations are part of
// the stored format (docs/formats/crypto.md) and must never change.
TEST(KeyRingTest, SubkeysMatchKnownAnswers) {
  const SecretBytes master = CountingKey(0);  // 00 01 .. 1f
  EXPECT_EQ(Hex(DeriveSubkey(master, SubkeyId::kDataKeyWrapping).span()),
            "b970c830c0dd18c8e43282ff209388f16ef6892eb039a8b106c79c83f5c53691");
  EXPECT_EQ(Hex(DeriveSubkey(master, SubkeyId::kChunkId).span()),
            "8c53cca487a0904c78874f8e76cce31e83996ec6341fa03fd8e82b01a31b9d7d");
  EXPECT_EQ(Hex(DeriveSubkey(master, SubkeyId::kMetadata).span()),
            "766581ed136dff937b7ebfe4dc5a65ba45e0bdd03ac196057fd7809a21da9e39");
  EXPECT_EQ(Hex(MakeRing().key_id()), "94ea971ea34b6c11");
}

// libsodium documents crypto_kdf_derive_from_key as BLAKE2b keyed with the master key, with
// salt = LE64(subkey id) ‖ 0^8 and personalisation = context ‖ 0^8, over an empty message.
TEST(KeyRingTest, SubkeyIsBlake2bWithSaltAndPersonalisation) {
  const SecretBytes master = CountingKey(9);
  for (SubkeyId id : {SubkeyId::kDataKeyWrapping, SubkeyId::kChunkId, SubkeyId::kMetadata}) {
    unsigned char salt[16] = {};
    unsigned char personal[16] = {};
    StoreLE64(reinterpret_cast<std::byte*>(salt), uint64_t(id));
    std::memcpy(personal, kKdfContext, 8);
    unsigned char expected[kKeyBytes];
    ASSERT_EQ(
        crypto_generichash_blake2b_salt_personal(expected, sizeof(expected), nullptr, 0,
                                                 master.uchar(), master.size(), salt, personal),
        0);
    EXPECT_TRUE(DeriveSubkey(master, id)
                    .Equals(AsBytes(std::string_view(reinterpret_cast<const char*>(expected),
                                                     sizeof(expected)))));
  }
}

TEST(KeyRingTest, ChunkIdMatchesKnownAnswerAndKeyedBlake2b) {
  const KeyRing ring = MakeRing();
  const ChunkId id = ring.ComputeChunkId(CountingObjectId(0x40), 7, 3);
  EXPECT_EQ(Hex(id), "97d19550b29ffdd581c69d7d6ac1db730bb8da0e9adb72d16265decd8bbdf09f");

  std::string input(16, '\0');
  for (int i = 0; i < 16; ++i) input[i] = char(0x40 + i);
  input += std::string("\x07\0\0\0\0\0\0\0\x03", 9);
  const SecretBytes chunk_key = DeriveSubkey(CountingKey(0), SubkeyId::kChunkId);
  unsigned char expected[32];
  crypto_generichash(expected, 32, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size(), chunk_key.uchar(), chunk_key.size());
  EXPECT_EQ(Hex(id), Hex(AsBytes(std::string_view(reinterpret_cast<char*>(expected), 32))));
}

TEST(KeyRingTest, ChunkIdsDifferAcrossPlacesObjectsAndKeys) {
  const KeyRing ring = MakeRing();
  const KeyRing other = MakeRing(1);
  std::set<std::string> ids;
  for (uint8_t object : {0, 1}) {
    for (uint64_t stripe : {uint64_t{0}, uint64_t{1}, uint64_t{1} << 40}) {
      for (int shard = 0; shard < 32; ++shard) {
        ids.insert(Hex(ring.ComputeChunkId(CountingObjectId(object), stripe, shard)));
        ids.insert(Hex(other.ComputeChunkId(CountingObjectId(object), stripe, shard)));
      }
    }
  }
  EXPECT_EQ(ids.size(), 2u * 2 * 3 * 32);
}

TEST(KeyRingTest, RejectsMasterKeyOfWrongSize) {
  EXPECT_EQ(KeyRing::FromMasterKey(SecretBytes(16)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(KeyRingTest, WrapUnwrapRoundTrip) {
  const KeyRing ring = MakeRing();
  const ObjectId object = NewObjectId();
  const SecretBytes data_key = NewDataKey();
  const std::string wrapped = ring.WrapDataKey(data_key, object);
  ASSERT_EQ(wrapped.size(), kWrappedKeyBytes);
  auto unwrapped = ring.UnwrapDataKey(AsBytes(wrapped), object);
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.status();
  EXPECT_TRUE(unwrapped->Equals(data_key.span()));
  // A random nonce: wrapping twice gives different bytes.
  EXPECT_NE(ring.WrapDataKey(data_key, object), wrapped);
}

TEST(KeyRingTest, RewrapMovesKeyToNewMasterWithoutChangingIt) {
  const KeyRing old_ring = MakeRing(0);
  const KeyRing new_ring = MakeRing(100);
  const ObjectId object = NewObjectId();
  const SecretBytes data_key = NewDataKey();
  const std::string wrapped = old_ring.WrapDataKey(data_key, object);
  auto rewrapped = RewrapDataKey(old_ring, new_ring, AsBytes(wrapped), object);
  ASSERT_TRUE(rewrapped.ok()) << rewrapped.status();
  auto unwrapped = new_ring.UnwrapDataKey(AsBytes(*rewrapped), object);
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.status();
  EXPECT_TRUE(unwrapped->Equals(data_key.span()));
  EXPECT_EQ(old_ring.UnwrapDataKey(AsBytes(*rewrapped), object).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(RewrapDataKey(new_ring, old_ring, AsBytes(wrapped), object).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

// Rotation: the new key inherits the old chunk-id key, so chunk ids (and the data) stay;
// its own chunk ids (the backup root's slots) are its own.
TEST(KeyRingTest, InheritedChunkIdKeyKeepsChunkIdsAcrossRotation) {
  const KeyRing old_ring = MakeRing(1);
  KeyRing new_ring = MakeRing(2);
  const ObjectId object = CountingObjectId(7);
  EXPECT_TRUE(new_ring.SealedChunkIdKey().empty()) << "its own key: nothing to carry";
  EXPECT_NE(new_ring.ComputeChunkId(object, 3, 1), old_ring.ComputeChunkId(object, 3, 1));
  ASSERT_TRUE(new_ring.InheritChunkIdKey(old_ring.SealChunkIdKeyFor(new_ring)).ok());
  EXPECT_TRUE(new_ring.inherits_chunk_id_key());
  EXPECT_EQ(new_ring.ComputeChunkId(object, 3, 1), old_ring.ComputeChunkId(object, 3, 1));
  EXPECT_EQ(new_ring.ComputeOwnChunkId(object, 3, 1), MakeRing(2).ComputeChunkId(object, 3, 1));
  // What it records opens for the next start of the same key, and chains to a third key.
  KeyRing restarted = MakeRing(2);
  ASSERT_TRUE(restarted.InheritChunkIdKey(new_ring.SealedChunkIdKey()).ok());
  EXPECT_EQ(restarted.ComputeChunkId(object, 0, 0), old_ring.ComputeChunkId(object, 0, 0));
  KeyRing third = MakeRing(3);
  ASSERT_TRUE(third.InheritChunkIdKey(restarted.SealChunkIdKeyFor(third)).ok());
  EXPECT_EQ(third.ComputeChunkId(object, 0, 0), old_ring.ComputeChunkId(object, 0, 0));
  // Sealed for another key: refused.
  KeyRing other = MakeRing(4);
  EXPECT_EQ(other.InheritChunkIdKey(old_ring.SealChunkIdKeyFor(new_ring)).code(),
            absl::StatusCode::kDataLoss);
  EXPECT_FALSE(other.inherits_chunk_id_key());
}

TEST(KeyRingTest, EveryFlippedBitOfAWrappedKeyIsDetected) {
  const KeyRing ring = MakeRing();
  const ObjectId object = NewObjectId();
  const std::string wrapped = ring.WrapDataKey(NewDataKey(), object);
  for (size_t bit = 0; bit < wrapped.size() * 8; ++bit) {
    std::string tampered = wrapped;
    tampered[bit / 8] = char(tampered[bit / 8] ^ (1 << (bit % 8)));
    const absl::StatusCode code = ring.UnwrapDataKey(AsBytes(tampered), object).status().code();
    const size_t byte = bit / 8;
    const absl::StatusCode expected = byte == 0  ? absl::StatusCode::kInvalidArgument
                                      : byte < 9 ? absl::StatusCode::kFailedPrecondition
                                                 : absl::StatusCode::kDataLoss;
    ASSERT_EQ(code, expected) << "bit " << bit;
  }
}

TEST(KeyRingTest, WrappedKeyIsBoundToItsObject) {
  const KeyRing ring = MakeRing();
  const std::string wrapped = ring.WrapDataKey(NewDataKey(), CountingObjectId(1));
  EXPECT_EQ(ring.UnwrapDataKey(AsBytes(wrapped), CountingObjectId(2)).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(ring.UnwrapDataKey(AsBytes(wrapped).first(80), CountingObjectId(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(KeyRingTest, RandomIdsAndKeysDiffer) {
  EXPECT_NE(NewObjectId(), NewObjectId());
  EXPECT_FALSE(NewDataKey().Equals(NewDataKey().span()));
}

}  // namespace
}  // namespace mosaic::client
