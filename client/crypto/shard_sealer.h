#pragma once
// Sealing of one erasure-coded shard: AEAD encryption under an object's data key, with a
// nonce derived from the shard's place and associated data that binds that place
// (docs/formats/crypto.md, "Shards"). A sealed shard is ciphertext ‖ 16-byte tag, so a
// node holds nothing but ciphertext and every shard can be verified on its own.

#include <array>
#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/crypto/key_ring.h"
#include "client/crypto/secret.h"
#include "common/bytes.h"

namespace mosaic::client {

// The AEAD of an object's shards, recorded in its metadata. Values are part of the format.
enum class SealAlgorithm : uint8_t {
  kAes256Gcm = 1,          // OpenSSL EVP; AES-NI/VAES where present
  kXChaCha20Poly1305 = 2,  // libsodium; for CPUs without AES-NI
};

inline constexpr size_t kSealTagBytes = 16;
// Nonce bytes used by each algorithm; the rest of the buffer below is zero.
inline constexpr size_t kMaxNonceBytes = 24;
// Associated data: version ‖ algorithm ‖ object id ‖ LE64 stripe ‖ shard ‖ k ‖ m ‖ last ‖
// LE64 stripe plaintext bytes.
inline constexpr size_t kShardAadBytes = 1 + 1 + sizeof(ObjectId) + 8 + 1 + 1 + 1 + 1 + 8;

// AES-256-GCM when the CPU has AES-NI and carry-less multiply, else XChaCha20-Poly1305.
SealAlgorithm PreferredSealAlgorithm();

// The algorithm a metadata byte names; INVALID_ARGUMENT for unknown values.
[[nodiscard]] absl::StatusOr<SealAlgorithm> SealAlgorithmFromByte(uint8_t value);

// Where a shard sits in its object. Everything here is bound into the shard's tag.
struct ShardPlace {
  uint64_t stripe = 0;
  int shard_index = 0;
  bool last_stripe = false;
  // Plaintext bytes of the whole stripe (before splitting and padding).
  uint64_t stripe_bytes = 0;
};

// The nonce of a shard: LE64(stripe) ‖ u8(shard_index), zero-padded to the algorithm's
// nonce size (12 bytes for AES-256-GCM, 24 for XChaCha20-Poly1305). Distinct places give
// distinct nonces, so a nonce never repeats under one data key.
std::array<std::byte, kMaxNonceBytes> ShardNonce(uint64_t stripe, int shard_index);

// Seals and opens the shards of one object. Immutable after creation; Seal and Open may be
// called from any number of threads at once (each thread keeps its own cipher context).
// Move-only. Holds a copy of the data key in guarded memory.
class ShardSealer {
 public:
  // INVALID_ARGUMENT unless `data_key` has kKeyBytes bytes and 1 <= k, 0 <= m, k + m <= 32.
  [[nodiscard]] static absl::StatusOr<ShardSealer> Create(SealAlgorithm algorithm,
                                                          const SecretBytes& data_key,
                                                          const ObjectId& object, int k, int m);

  SealAlgorithm algorithm() const { return algorithm_; }

  // The associated data of the shard at `place` (exposed for tests and the format doc).
  std::array<std::byte, kShardAadBytes> Aad(const ShardPlace& place) const;

  // Encrypts `plaintext` into `sealed` = ciphertext ‖ tag, which must have
  // plaintext.size() + kSealTagBytes bytes and may start at plaintext.data() (in place);
  // any other overlap is not allowed. INVALID_ARGUMENT on a wrong size, a shard index out
  // of range, or a shard over 2 GiB.
  [[nodiscard]] absl::Status Seal(const ShardPlace& place, ConstByteSpan plaintext,
                                  ByteSpan sealed) const;

  // Decrypts and verifies `sealed` into `plaintext` (sealed.size() - kSealTagBytes bytes; it
  // may start at sealed.data()). DATA_LOSS if the tag fails — altered bytes, or a shard from
  // another place, object or key — and then `plaintext` is zeroed, never left holding
  // unverified bytes. INVALID_ARGUMENT on wrong sizes or a shard index out of range.
  [[nodiscard]] absl::Status Open(const ShardPlace& place, ConstByteSpan sealed,
                                  ByteSpan plaintext) const;

 private:
  ShardSealer(SealAlgorithm algorithm, SecretBytes key, const ObjectId& object, int k, int m);

  absl::Status CheckPlace(const ShardPlace& place, size_t plaintext_bytes) const;

  SealAlgorithm algorithm_;
  SecretBytes key_;
  ObjectId object_;
  int k_;
  int m_;
};

}  // namespace mosaic::client
