#include "client/crypto/secret.h"

#include <sodium.h>

#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

#include "common/check.h"

namespace mosaic::client {

absl::Status InitSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) return absl::InternalError("libsodium failed to initialise");
  return absl::OkStatus();
}

namespace {

// The slots of short secrets: kSecretArenaSlots × kKeyBytes in one sodium_malloc'd region,
// zero while free. Never destroyed: secrets in static objects may outlive it otherwise.
class KeyArena {
 public:
  static KeyArena& Global() {
    static KeyArena* const arena = new KeyArena();
    return *arena;
  }

  // A free slot (zeroed), or nullptr when all are taken.
  std::byte* Take() {
    std::lock_guard lock(mu_);
    if (free_.empty()) return nullptr;
    std::byte* slot = base_ + size_t{free_.back()} * kKeyBytes;
    free_.pop_back();
    return slot;
  }

  bool Owns(const std::byte* p) const {
    auto at = reinterpret_cast<uintptr_t>(p), base = reinterpret_cast<uintptr_t>(base_);
    return at >= base && at < base + kSecretArenaSlots * kKeyBytes;
  }

  // Wipes `slot` and makes it free; the last released is the next taken (still in cache).
  void Give(std::byte* slot) {
    sodium_memzero(slot, kKeyBytes);
    std::lock_guard lock(mu_);
    free_.push_back(static_cast<uint32_t>(size_t(slot - base_) / kKeyBytes));
  }

  size_t InUse() {
    std::lock_guard lock(mu_);
    return kSecretArenaSlots - free_.size();
  }

 private:
  KeyArena() {
    CHECK(InitSodium().ok());
    base_ = static_cast<std::byte*>(sodium_malloc(kSecretArenaSlots * kKeyBytes));
    CHECK(base_ != nullptr);
    sodium_memzero(base_, kSecretArenaSlots * kKeyBytes);
    free_.reserve(kSecretArenaSlots);
    for (size_t i = kSecretArenaSlots; i > 0; --i) free_.push_back(static_cast<uint32_t>(i - 1));
  }

  std::mutex mu_;
  std::byte* base_ = nullptr;
  std::vector<uint32_t> free_;  // slot indexes
};

// Wipes and releases a secret's memory (sodium_free wipes before unmapping).
void Free(std::byte* data) {
  if (data == nullptr) return;
  if (KeyArena::Global().Owns(data)) return KeyArena::Global().Give(data);
  sodium_free(data);
}

}  // namespace

size_t SecretArenaSlotsInUse() { return KeyArena::Global().InUse(); }

void RandomBytes(ByteSpan out) {
  CHECK(InitSodium().ok());
  randombytes_buf(out.data(), out.size());
}

SecretBytes::SecretBytes(size_t size) : size_(size) {
  if (size == 0) return;
  CHECK(InitSodium().ok());
  if (size <= kKeyBytes) data_ = KeyArena::Global().Take();  // slots are zero when free
  if (data_ != nullptr) return;
  data_ = static_cast<std::byte*>(sodium_malloc(size));
  CHECK(data_ != nullptr);
  sodium_memzero(data_, size);
}

SecretBytes::~SecretBytes() { Free(data_); }

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Free(data_);
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
