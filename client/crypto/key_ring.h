#pragma once
// The key hierarchy (docs/formats/crypto.md): a 32-byte master key, subkeys derived from it
// with crypto_kdf for separate purposes, and a random data key per object (or multipart part)
// that is stored only wrapped under the data-key-wrapping subkey.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/crypto/secret.h"
#include "common/bytes.h"

namespace mosaic::client {

// Names one sealed unit (an object version or one multipart part): 16 random bytes, never
// reused. Nonces are unique only under one data key, so every unit gets a fresh id and key.
using ObjectId = std::array<std::byte, 16>;

// What a node sees as a chunk's name: keyed BLAKE2b-256, unlinkable without the master key.
using ChunkId = std::array<std::byte, 32>;

// A public fingerprint of a master key: its first use is telling which master key wrapped
// a data key, and whether a key file was opened with the right passphrase.
using KeyId = std::array<std::byte, 8>;

// crypto_kdf context and subkey ids. Part of the format: never renumber.
inline constexpr char kKdfContext[] = "MosaicV1";
enum class SubkeyId : uint64_t {
  kDataKeyWrapping = 1,
  kChunkId = 2,
  kMetadata = 3,
  kKeyId = 4,
};

// A wrapped data key: version (1) ‖ key id (8) ‖ nonce (24) ‖ ciphertext (32) ‖ tag (16).
inline constexpr size_t kWrappedKeyBytes = 1 + 8 + 24 + kKeyBytes + 16;

// Returns a fresh random object id.
ObjectId NewObjectId();

// Returns a fresh random data key.
SecretBytes NewDataKey();

// Derives the 32-byte subkey `id` of `master` (crypto_kdf_derive_from_key, context
// kKdfContext). `master` must hold kKeyBytes bytes (CHECKed: callers hold a KeyRing).
SecretBytes DeriveSubkey(const SecretBytes& master, SubkeyId id);

// The subkeys of a master key, in guarded memory. Immutable after creation: every method
// may be called from any thread at once. Move-only.
class KeyRing {
 public:
  // Derives the subkeys of `master` (which the ring does not keep: the caller wipes it by
  // dropping it). INVALID_ARGUMENT unless `master` holds exactly kKeyBytes bytes.
  [[nodiscard]] static absl::StatusOr<KeyRing> FromMasterKey(const SecretBytes& master);

  const KeyId& key_id() const { return key_id_; }
  // The subkey that encrypts metadata backups.
  const SecretBytes& metadata_key() const { return metadata_key_; }

  // Chunk id of shard `shard_index` of stripe `stripe` of `object`:
  // BLAKE2b-256(key = chunk-id subkey, object id ‖ LE64(stripe) ‖ u8(shard_index)).
  ChunkId ComputeChunkId(const ObjectId& object, uint64_t stripe, int shard_index) const;

  // Wraps `data_key` (kKeyBytes, CHECKed) for `object` with XChaCha20-Poly1305 under a random
  // nonce; the associated data binds the format version, this key id and the object id.
  // Returns kWrappedKeyBytes bytes to store in the object's metadata.
  std::string WrapDataKey(const SecretBytes& data_key, const ObjectId& object) const;

  // Recovers a data key wrapped for `object`. INVALID_ARGUMENT for a wrong length or
  // version; FAILED_PRECONDITION if another master key wrapped it (its key id differs);
  // DATA_LOSS if the tag fails (altered bytes, or wrapped for another object).
  [[nodiscard]] absl::StatusOr<SecretBytes> UnwrapDataKey(ConstByteSpan wrapped,
                                                          const ObjectId& object) const;

 private:
  KeyRing() = default;

  SecretBytes wrapping_key_;
  SecretBytes chunk_id_key_;
  SecretBytes metadata_key_;
  KeyId key_id_{};
};

// Re-wraps a data key from `from` to `to` (master key rotation); the data it protects is
// untouched. Errors as KeyRing::UnwrapDataKey on `from`.
[[nodiscard]] absl::StatusOr<std::string> RewrapDataKey(const KeyRing& from, const KeyRing& to,
                                                        ConstByteSpan wrapped,
                                                        const ObjectId& object);

}  // namespace mosaic::client
