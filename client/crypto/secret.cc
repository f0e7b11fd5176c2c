#include "client/crypto/secret.h"

#include <sodium.h>

#include <utility>

#include "common/check.h"

namespace mosaic::client {

absl::Status InitSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) return absl::InternalError("libsodium failed to initialise");
  return absl::OkStatus();
}

void RandomBytes(ByteSpan out) {
  CHECK(InitSodium().ok());
  randombytes_buf(out.data(), out.size());
}

SecretBytes::SecretBytes(size_t size) : size_(size) {
  if (size == 0) return;
  CHECK(InitSodium().ok());
  data_ = static_cast<std::byte*>(sodium_malloc(size));
  CHECK(data_ != nullptr);
  sodium_memzero(data_, size);
}

SecretBytes::~SecretBytes() {
  if (data_ != nullptr) sodium_free(data_);  // wipes before freeing
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) sodium_free(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

SecretBytes SecretBytes::CopyOf(ConstByteSpan bytes) {
  SecretBytes out(bytes.size());
  if (!bytes.empty()) std::memcpy(out.data_, bytes.data(), bytes.size());
  return out;
}

SecretBytes SecretBytes::Random(size_t size) {
  SecretBytes out(size);
  RandomBytes(out.span());
  return out;
}

bool SecretBytes::Equals(ConstByteSpan other) const {
  if (other.size() != size_) return false;
  if (size_ == 0) return true;
  return sodium_memcmp(data_, other.data(), size_) == 0;
}

}  // namespace mosaic::client
