#include "client/crypto/metadata_seal.h"

#include <sodium.h>

#include "common/check.h"

namespace mosaic::client {
namespace {

constexpr unsigned char kVersion = 1;
constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;

const unsigned char* U(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

std::string SealMetadata(const KeyRing& ring, std::string_view plaintext, std::string_view aad) {
  std::string out(1 + kNonce + plaintext.size() + kTag, '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  p[0] = kVersion;
  randombytes_buf(p + 1, kNonce);
  unsigned long long written = 0;
  CHECK(crypto_aead_xchacha20poly1305_ietf_encrypt(p + 1 + kNonce, &written, U(plaintext),
                                                   plaintext.size(), U(aad), aad.size(), nullptr,
                                                   p + 1, ring.metadata_key().uchar()) == 0);
  return out;
}

absl::StatusOr<std::string> OpenMetadata(const KeyRing& ring, std::string_view sealed,
                                         std::string_view aad) {
  if (sealed.size() < 1 + kNonce + kTag || U(sealed)[0] != kVersion) {
    return absl::InvalidArgumentError("not a sealed metadata value");
  }
  std::string out(sealed.size() - 1 - kNonce - kTag, '\0');
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(out.data()),
                                                 &written, nullptr, U(sealed) + 1 + kNonce,
                                                 sealed.size() - 1 - kNonce, U(aad), aad.size(),
                                                 U(sealed) + 1, ring.metadata_key().uchar()) != 0) {
    return absl::DataLossError("sealed metadata fails its tag");
  }
  return out;
}

}  // namespace mosaic::client
