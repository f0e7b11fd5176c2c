#include "client/crypto/key_ring.h"

#include <sodium.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client/crypto/metadata_seal.h"
#include "common/check.h"
#include "common/status.h"

namespace mosaic::client {
namespace {

constexpr uint8_t kWrapVersion = 1;
constexpr size_t kWrapNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kKeyIdOffset = 1;
constexpr size_t kNonceOffset = kKeyIdOffset + sizeof(KeyId);
constexpr size_t kCiphertextOffset = kNonceOffset + kWrapNonceBytes;
static_assert(kCiphertextOffset + kKeyBytes + crypto_aead_xchacha20poly1305_ietf_ABYTES ==
              kWrappedKeyBytes);
static_assert(sizeof(kKdfContext) - 1 == crypto_kdf_CONTEXTBYTES);

// Associated data of a wrapped key: version ‖ key id ‖ object id.
std::array<unsigned char, 1 + sizeof(KeyId) + sizeof(ObjectId)> WrapAad(const KeyId& key_id,
                                                                        const ObjectId& object) {
  std::array<unsigned char, 1 + sizeof(KeyId) + sizeof(ObjectId)> aad;
  aad[0] = kWrapVersion;
  std::memcpy(aad.data() + 1, key_id.data(), key_id.size());
  std::memcpy(aad.data() + 1 + key_id.size(), object.data(), object.size());
  return aad;
}

// Associated data of an inherited chunk-id key sealed under the metadata subkey.
constexpr std::string_view kInheritedAad = "mosaic inherited chunk-id key";

ChunkId KeyedChunkId(const SecretBytes& key, const ObjectId& object, uint64_t stripe,
                     int shard_index) {
  std::array<std::byte, sizeof(ObjectId) + 8 + 1> input;
  std::memcpy(input.data(), object.data(), object.size());
  StoreLE64(input.data() + object.size(), stripe);
  input.back() = std::byte(shard_index);
  ChunkId id;
  CHECK(crypto_generichash(reinterpret_cast<unsigned char*>(id.data()), id.size(),
                           reinterpret_cast<const unsigned char*>(input.data()), input.size(),
                           key.uchar(), key.size()) == 0);
  return id;
}

}  // namespace

ObjectId NewObjectId() {
  ObjectId id;
  RandomBytes(id);
  return id;
}

SecretBytes NewDataKey() { return SecretBytes::Random(kKeyBytes); }

SecretBytes DeriveSubkey(const SecretBytes& master, SubkeyId id) {
  CHECK(master.size() == kKeyBytes);
  SecretBytes subkey(kKeyBytes);
  CHECK(crypto_kdf_derive_from_key(subkey.uchar(), subkey.size(), uint64_t(id), kKdfContext,
                                   master.uchar()) == 0);
  return subkey;
}

absl::StatusOr<KeyRing> KeyRing::FromMasterKey(const SecretBytes& master) {
  if (master.size() != kKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("a master key has ", kKeyBytes, " bytes, not ", master.size()));
  }
  RETURN_IF_ERROR(InitSodium());
  KeyRing ring;
  ring.wrapping_key_ = DeriveSubkey(master, SubkeyId::kDataKeyWrapping);
  ring.own_chunk_id_key_ = DeriveSubkey(master, SubkeyId::kChunkId);
  ring.chunk_id_key_ = SecretBytes::CopyOf(ring.own_chunk_id_key_.span());
  ring.metadata_key_ = DeriveSubkey(master, SubkeyId::kMetadata);
  SecretBytes id_key = DeriveSubkey(master, SubkeyId::kKeyId);
  std::memcpy(ring.key_id_.data(), id_key.data(), ring.key_id_.size());
  return ring;
}

KeyRing KeyRing::Clone() const {
  KeyRing copy;
  copy.wrapping_key_ = SecretBytes::CopyOf(wrapping_key_.span());
  copy.chunk_id_key_ = SecretBytes::CopyOf(chunk_id_key_.span());
  copy.own_chunk_id_key_ = SecretBytes::CopyOf(own_chunk_id_key_.span());
  copy.metadata_key_ = SecretBytes::CopyOf(metadata_key_.span());
  copy.inherited_ = inherited_;
  copy.key_id_ = key_id_;
  return copy;
}

ChunkId KeyRing::ComputeChunkId(const ObjectId& object, uint64_t stripe, int shard_index) const {
  return KeyedChunkId(chunk_id_key_, object, stripe, shard_index);
}

ChunkId KeyRing::ComputeOwnChunkId(const ObjectId& object, uint64_t stripe, int shard_index) const {
  return KeyedChunkId(own_chunk_id_key_, object, stripe, shard_index);
}

std::string KeyRing::SealChunkIdKeyFor(const KeyRing& to) const {
  return SealMetadata(to, AsStringView(chunk_id_key_.span()), kInheritedAad);
}

std::string KeyRing::SealedChunkIdKey() const {
  return inherited_ ? SealChunkIdKeyFor(*this) : std::string();
}

absl::Status KeyRing::InheritChunkIdKey(std::string_view sealed) {
  ASSIGN_OR_RETURN(std::string key, OpenMetadata(*this, sealed, kInheritedAad));
  if (key.size() != kKeyBytes) {
    sodium_memzero(key.data(), key.size());
    return absl::InvalidArgumentError("not a sealed chunk-id key");
  }
  chunk_id_key_ = SecretBytes::CopyOf(AsBytes(key));
  sodium_memzero(key.data(), key.size());
  inherited_ = !chunk_id_key_.Equals(own_chunk_id_key_.span());
  return absl::OkStatus();
}

std::string KeyRing::WrapDataKey(const SecretBytes& data_key, const ObjectId& object) const {
  CHECK(data_key.size() == kKeyBytes);
  std::string out(kWrappedKeyBytes, '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  p[0] = kWrapVersion;
  std::memcpy(p + kKeyIdOffset, key_id_.data(), key_id_.size());
  randombytes_buf(p + kNonceOffset, kWrapNonceBytes);
  const auto aad = WrapAad(key_id_, object);
  unsigned long long written = 0;
  CHECK(crypto_aead_xchacha20poly1305_ietf_encrypt(
            p + kCiphertextOffset, &written, data_key.uchar(), data_key.size(), aad.data(),
            aad.size(), nullptr, p + kNonceOffset, wrapping_key_.uchar()) == 0);
  return out;
}

absl::StatusOr<SecretBytes> KeyRing::UnwrapDataKey(ConstByteSpan wrapped,
                                                   const ObjectId& object) const {
  if (wrapped.size() != kWrappedKeyBytes || uint8_t(wrapped[0]) != kWrapVersion) {
    return absl::InvalidArgumentError(absl::StrCat("not a version ", kWrapVersion,
                                                   " wrapped key of ", kWrappedKeyBytes, " bytes (",
                                                   wrapped.size(), " bytes)"));
  }
  if (std::memcmp(wrapped.data() + kKeyIdOffset, key_id_.data(), key_id_.size()) != 0) {
    return absl::FailedPreconditionError("data key was wrapped under another master key");
  }
  const auto* p = reinterpret_cast<const unsigned char*>(wrapped.data());
  const auto aad = WrapAad(key_id_, object);
  SecretBytes key(kKeyBytes);
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          key.uchar(), &written, nullptr, p + kCiphertextOffset,
          kWrappedKeyBytes - kCiphertextOffset, aad.data(), aad.size(), p + kNonceOffset,
          wrapping_key_.uchar()) != 0) {
    return absl::DataLossError("wrapped data key fails its tag");
  }
  return key;
}

absl::StatusOr<std::string> RewrapDataKey(const KeyRing& from, const KeyRing& to,
                                          ConstByteSpan wrapped, const ObjectId& object) {
  ASSIGN_OR_RETURN(SecretBytes key, from.UnwrapDataKey(wrapped, object));
  return to.WrapDataKey(key, object);
}

}  // namespace mosaic::client
