#include "client/crypto/password.h"

#include <sodium.h>

#include "client/crypto/secret.h"
#include "common/bytes.h"

namespace mosaic::client {

absl::StatusOr<std::string> HashPassword(std::string_view password, PasswordCost cost) {
  if (auto s = InitSodium(); !s.ok()) return s;
  bool minimum = cost == PasswordCost::kMinimum;
  unsigned long long ops =
      minimum ? crypto_pwhash_OPSLIMIT_MIN : crypto_pwhash_OPSLIMIT_INTERACTIVE;
  size_t mem = minimum ? crypto_pwhash_MEMLIMIT_MIN : crypto_pwhash_MEMLIMIT_INTERACTIVE;
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), ops, mem,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return absl::ResourceExhaustedError("password hash: out of memory");
  }
  return std::string(out);
}

bool VerifyPassword(std::string_view encoded, std::string_view password) {
  if (!InitSodium().ok()) return false;
  if (encoded.size() >= crypto_pwhash_STRBYTES || !encoded.starts_with("$argon2id$")) return false;
  std::string terminated(encoded);  // crypto_pwhash_str_verify wants a C string
  return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

std::string RandomPassword(size_t chars) {
  static constexpr char kAlphabet[] = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  constexpr size_t kSize = sizeof(kAlphabet) - 1;
  std::string out;
  while (out.size() < chars) {
    uint8_t b = 0;
    RandomBytes({reinterpret_cast<std::byte*>(&b), 1});
    if (b < 256 - 256 % kSize) out.push_back(kAlphabet[b % kSize]);  // no modulo bias
  }
  return out;
}

std::string RandomToken(size_t bytes) {
  std::string raw(bytes, '\0');
  RandomBytes({reinterpret_cast<std::byte*>(raw.data()), raw.size()});
  return HexEncode(AsBytes(raw));
}

}  // namespace mosaic::client
