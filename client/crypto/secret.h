#pragma once
// Guarded memory for key material, and the process-wide libsodium set-up. This folder is the
// only code that calls libsodium.

#include <cstddef>

#include "absl/status/status.h"
#include "common/bytes.h"

namespace mosaic::client {

// Length of every symmetric key Mosaic uses (master key, subkeys, data keys).
inline constexpr size_t kKeyBytes = 32;

// Initialises libsodium once per process; later calls return the first result. Every
// function of client/crypto calls it, so callers need not. Thread-safe.
[[nodiscard]] absl::Status InitSodium();

// Fills `out` with bytes from the operating system's CSPRNG (libsodium's randombytes).
// Aborts if libsodium cannot be initialised (no usable random source). Thread-safe.
void RandomBytes(ByteSpan out);

// Slots of the process-wide key arena (below): secrets of at most kKeyBytes share them.
inline constexpr size_t kSecretArenaSlots = 1024;

// How many slots of the key arena hold a secret now. Thread-safe.
size_t SecretArenaSlotsInUse();

// An owning buffer for secrets in sodium_malloc'd memory: guard pages around it, locked
// against swapping where the system allows, excluded from core dumps, and wiped when freed.
// A secret of at most kKeyBytes (a data key, a subkey) takes a slot of one arena that is
// itself such memory, allocated once: guard pages around the arena rather than around each
// key, so that a short-lived data key costs no system call (sodium_malloc maps, protects and
// locks pages for each allocation, and the TLB shootdowns of unmapping them show up per
// request: issue 14). A slot is wiped when released; with every slot taken, a key gets its
// own sodium_malloc'd pages as a longer secret does.
// Move-only; not thread-safe (one thread at a time, or shared read-only).
class SecretBytes {
 public:
  SecretBytes() = default;
  // Allocates `size` zeroed bytes. Aborts only if memory is exhausted.
  explicit SecretBytes(size_t size);
  ~SecretBytes();

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  // A new buffer holding a copy of `bytes`.
  static SecretBytes CopyOf(ConstByteSpan bytes);
  // A new buffer of `size` random bytes.
  static SecretBytes Random(size_t size);

  std::byte* data() { return data_; }
  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  ByteSpan span() { return {data_, size_}; }
  ConstByteSpan span() const { return {data_, size_}; }
  const unsigned char* uchar() const { return reinterpret_cast<const unsigned char*>(data_); }
  unsigned char* uchar() { return reinterpret_cast<unsigned char*>(data_); }

  // Constant-time comparison of contents (false when sizes differ).
  bool Equals(ConstByteSpan other) const;

 private:
  std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace mosaic::client
