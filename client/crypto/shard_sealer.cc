#include "client/crypto/shard_sealer.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <climits>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace mosaic::client {
namespace {

constexpr uint8_t kShardFormatVersion = 1;
constexpr size_t kGcmNonceBytes = 12;
static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == kMaxNonceBytes);
static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == kSealTagBytes);

const EVP_CIPHER* AesGcm() {
  // Fetched once: OpenSSL 3 would otherwise look the implementation up on every init.
  static const EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

// One cipher context per thread, reused for every shard that thread seals or opens.
EVP_CIPHER_CTX* ThreadCipherContext() {
  struct Holder {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    ~Holder() { EVP_CIPHER_CTX_free(ctx); }
  };
  thread_local Holder holder;
  return holder.ctx;
}

const unsigned char* U(const std::byte* p) { return reinterpret_cast<const unsigned char*>(p); }
unsigned char* U(std::byte* p) { return reinterpret_cast<unsigned char*>(p); }

struct AeadCall {
  const unsigned char* key;
  const unsigned char* nonce;
  ConstByteSpan aad;
};

absl::Status AesGcmSeal(const AeadCall& call, ConstByteSpan in, ByteSpan out) {
  EVP_CIPHER_CTX* ctx = ThreadCipherContext();
  int len = 0;
  const bool ok =
      ctx != nullptr && AesGcm() != nullptr &&
      EVP_EncryptInit_ex(ctx, AesGcm(), nullptr, call.key, call.nonce) == 1 &&
      EVP_EncryptUpdate(ctx, nullptr, &len, U(call.aad.data()), int(call.aad.size())) == 1 &&
      EVP_EncryptUpdate(ctx, U(out.data()), &len, U(in.data()), int(in.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx, U(out.data()) + len, &len) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, int(kSealTagBytes), out.data() + in.size()) ==
          1;
  if (!ok) return absl::InternalError("OpenSSL AES-256-GCM encryption failed");
  return absl::OkStatus();
}

// Returns true when the tag verifies.
bool AesGcmOpen(const AeadCall& call, ConstByteSpan in, ByteSpan out) {
  EVP_CIPHER_CTX* ctx = ThreadCipherContext();
  const size_t len = in.size() - kSealTagBytes;
  unsigned char tag[kSealTagBytes];
  std::memcpy(tag, in.data() + len, kSealTagBytes);  // `out` may overwrite `in`
  int written = 0;
  return ctx != nullptr && AesGcm() != nullptr &&
         EVP_DecryptInit_ex(ctx, AesGcm(), nullptr, call.key, call.nonce) == 1 &&
         EVP_DecryptUpdate(ctx, nullptr, &written, U(call.aad.data()), int(call.aad.size())) == 1 &&
         EVP_DecryptUpdate(ctx, U(out.data()), &written, U(in.data()), int(len)) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, int(kSealTagBytes), tag) == 1 &&
         EVP_DecryptFinal_ex(ctx, U(out.data()) + written, &written) == 1;
}

absl::Status XChaChaSeal(const AeadCall& call, ConstByteSpan in, ByteSpan out) {
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_encrypt(U(out.data()), &written, U(in.data()), in.size(),
                                                 U(call.aad.data()), call.aad.size(), nullptr,
                                                 call.nonce, call.key) != 0) {
    return absl::InternalError("libsodium XChaCha20-Poly1305 encryption failed");
  }
  return absl::OkStatus();
}

bool XChaChaOpen(const AeadCall& call, ConstByteSpan in, ByteSpan out) {
  unsigned long long written = 0;
  return crypto_aead_xchacha20poly1305_ietf_decrypt(U(out.data()), &written, nullptr, U(in.data()),
                                                    in.size(), U(call.aad.data()), call.aad.size(),
                                                    call.nonce, call.key) == 0;
}

}  // namespace

SealAlgorithm PreferredSealAlgorithm() {
  // libsodium's check is exactly "AES-NI and PCLMULQDQ are present" (cpuid).
  if (InitSodium().ok() && crypto_aead_aes256gcm_is_available() == 1) {
    return SealAlgorithm::kAes256Gcm;
  }
  return SealAlgorithm::kXChaCha20Poly1305;
}

absl::StatusOr<SealAlgorithm> SealAlgorithmFromByte(uint8_t value) {
  switch (value) {
    case uint8_t(SealAlgorithm::kAes256Gcm):
    case uint8_t(SealAlgorithm::kXChaCha20Poly1305):
      return SealAlgorithm(value);
    default:
      return absl::InvalidArgumentError(absl::StrCat("unknown seal algorithm ", value));
  }
}

std::array<std::byte, kMaxNonceBytes> ShardNonce(uint64_t stripe, int shard_index) {
  std::array<std::byte, kMaxNonceBytes> nonce{};
  StoreLE64(nonce.data(), stripe);
  nonce[8] = std::byte(shard_index);
  return nonce;
}

absl::StatusOr<ShardSealer> ShardSealer::Create(SealAlgorithm algorithm,
                                                const SecretBytes& data_key, const ObjectId& object,
                                                int k, int m) {
  RETURN_IF_ERROR(InitSodium());
  if (data_key.size() != kKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat("a data key has ", kKeyBytes, " bytes"));
  }
  if (k < 1 || m < 0 || k + m > 32) {
    return absl::InvalidArgumentError(absl::StrCat("bad erasure profile ", k, "+", m));
  }
  RETURN_IF_ERROR(SealAlgorithmFromByte(uint8_t(algorithm)).status());
  return ShardSealer(algorithm, SecretBytes::CopyOf(data_key.span()), object, k, m);
}

ShardSealer::ShardSealer(SealAlgorithm algorithm, SecretBytes key, const ObjectId& object, int k,
                         int m)
    : algorithm_(algorithm), key_(std::move(key)), object_(object), k_(k), m_(m) {}

std::array<std::byte, kShardAadBytes> ShardSealer::Aad(const ShardPlace& place) const {
  std::array<std::byte, kShardAadBytes> aad{};
  std::byte* p = aad.data();
  *p++ = std::byte{kShardFormatVersion};
  *p++ = std::byte(algorithm_);
  std::memcpy(p, object_.data(), object_.size());
  p += object_.size();
  StoreLE64(p, place.stripe);
  p += 8;
  *p++ = std::byte(place.shard_index);
  *p++ = std::byte(k_);
  *p++ = std::byte(m_);
  *p++ = std::byte{place.last_stripe ? uint8_t{1} : uint8_t{0}};
  StoreLE64(p, place.stripe_bytes);
  return aad;
}

absl::Status ShardSealer::CheckPlace(const ShardPlace& place, size_t plaintext_bytes) const {
  if (place.shard_index < 0 || place.shard_index >= k_ + m_) {
    return absl::InvalidArgumentError(
        absl::StrCat("shard index ", place.shard_index, " outside 0..", k_ + m_ - 1));
  }
  if (plaintext_bytes > size_t{INT_MAX} - kSealTagBytes) {
    return absl::InvalidArgumentError(absl::StrCat("shard of ", plaintext_bytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status ShardSealer::Seal(const ShardPlace& place, ConstByteSpan plaintext,
                               ByteSpan sealed) const {
  RETURN_IF_ERROR(CheckPlace(place, plaintext.size()));
  if (sealed.size() != plaintext.size() + kSealTagBytes) {
    return absl::InvalidArgumentError("sealed buffer must be the plaintext plus a tag");
  }
  const auto nonce = ShardNonce(place.stripe, place.shard_index);
  const auto aad = Aad(place);
  const AeadCall call{key_.uchar(), U(nonce.data()), aad};
  if (algorithm_ == SealAlgorithm::kAes256Gcm) return AesGcmSeal(call, plaintext, sealed);
  return XChaChaSeal(call, plaintext, sealed);
}

absl::Status ShardSealer::Open(const ShardPlace& place, ConstByteSpan sealed,
                               ByteSpan plaintext) const {
  if (sealed.size() < kSealTagBytes || plaintext.size() != sealed.size() - kSealTagBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "sealed shard of ", sealed.size(), " bytes cannot open into ", plaintext.size(), " bytes"));
  }
  RETURN_IF_ERROR(CheckPlace(place, plaintext.size()));
  const auto nonce = ShardNonce(place.stripe, place.shard_index);
  const auto aad = Aad(place);
  const AeadCall call{key_.uchar(), U(nonce.data()), aad};
  const bool ok = algorithm_ == SealAlgorithm::kAes256Gcm ? AesGcmOpen(call, sealed, plaintext)
                                                          : XChaChaOpen(call, sealed, plaintext);
  if (!ok) {
    sodium_memzero(plaintext.data(), plaintext.size());
    return absl::DataLossError(absl::StrCat("shard ", place.shard_index, " of stripe ",
                                            place.stripe, " fails its authentication tag"));
  }
  return absl::OkStatus();
}

}  // namespace mosaic::client
