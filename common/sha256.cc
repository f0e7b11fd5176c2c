#include "common/sha256.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/check.h"

namespace mosaic {

std::array<uint8_t, 32> Sha256(ConstByteSpan data) {
  std::array<uint8_t, 32> out{};
  unsigned int len = 0;
  CHECK(EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) == 1);
  return out;
}

std::string Sha256Hex(ConstByteSpan data) {
  auto digest = Sha256(data);
  return HexEncode(std::as_bytes(std::span(digest)));
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace mosaic
