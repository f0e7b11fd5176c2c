#pragma once
// The key hierarchy (docs/formats/crypto.md): a 32-byte master key, subkeys derived from it
// with crypto_kdf for separate purposes, and a random data key per object (or multipart part)
// that is stored only wrapped under the data-key-wrapping subkey.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

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

  // A copy in new guarded memory (to inherit a chunk-id key without touching this ring).
  KeyRing Clone() const;

  const KeyId& key_id() const { return key_id_; }
  // The subkey that encrypts metadata backups.
  const SecretBytes& metadata_key() const { return metadata_key_; }

  // Chunk id of shard `shard_index` of stripe `stripe` of `object`:
  // BLAKE2b-256(key = chunk-id key, object id ‖ LE64(stripe) ‖ u8(shard_index)). The chunk-id
  // key is the master key's chunk-id subkey, or the one inherited from the master key this
  // one replaced (InheritChunkIdKey): chunk ids never change, so rotating the master key
  // rewrites no data.
  ChunkId ComputeChunkId(const ObjectId& object, uint64_t stripe, int shard_index) const;
  // As ComputeChunkId, always under this master key's own chunk-id subkey: for what must be
  // found with this key file alone (the backup root's slots, backup/root.h).
  ChunkId ComputeOwnChunkId(const ObjectId& object, uint64_t stripe, int shard_index) const;

  // Master-key rotation (docs/formats/crypto.md, "Rotation"). The chunk-id key sealed under
  // `to`'s metadata subkey, for `to` to inherit.
  std::string SealChunkIdKeyFor(const KeyRing& to) const;
  // "" when this ring uses its own chunk-id subkey; else its inherited chunk-id key sealed
  // under its own metadata subkey (what InheritChunkIdKey takes).
  std::string SealedChunkIdKey() const;
  // Uses the chunk-id key in `sealed` (SealChunkIdKeyFor(this ring)) from now on. DATA_LOSS
  // if it does not open under this key, INVALID_ARGUMENT if it is not a sealed key. Not
  // thread-safe: call before the ring is shared.
  [[nodiscard]] absl::Status InheritChunkIdKey(std::string_view sealed);
  bool inherits_chunk_id_key() const { return inherited_; }

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
  SecretBytes chunk_id_key_;      // used for data: own or inherited
  SecretBytes own_chunk_id_key_;  // derived from the master key
  bool inherited_ = false;
  SecretBytes metadata_key_;
  KeyId key_id_{};
};

// Re-wraps a data key from `from` to `to` (master key rotation); the data it protects is
// untouched. Errors as KeyRing::UnwrapDataKey on `from`.
[[nodiscard]] absl::StatusOr<std::string> RewrapDataKey(const KeyRing& from, const KeyRing& to,
                                                        ConstByteSpan wrapped,
                                                        const ObjectId& object);

}  // namespace mosaic::client
