#pragma once
// Password hashing for the console's members (issue 15): Argon2id through libsodium's
// crypto_pwhash_str, whose output string carries its own salt and cost parameters, so a
// later change of the costs still verifies old hashes. Thread-safe; both calls block for
// the hash's cost (about 0.1 s and 64 MiB at the interactive limits).

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace mosaic::client {

// How expensive a hash is. kInteractive for logins; kMinimum only for tests.
enum class PasswordCost { kInteractive, kMinimum };

// The encoded Argon2id hash of `password` with a fresh random salt. RESOURCE_EXHAUSTED when
// the memory for the hash cannot be had.
[[nodiscard]] absl::StatusOr<std::string> HashPassword(
    std::string_view password, PasswordCost cost = PasswordCost::kInteractive);

// True when `password` matches `encoded` (a HashPassword result); false for a wrong password
// or an `encoded` that is not an Argon2id hash string.
[[nodiscard]] bool VerifyPassword(std::string_view encoded, std::string_view password);

// A random password of `chars` characters from an alphabet without look-alikes (for one-time
// passwords printed to an operator).
std::string RandomPassword(size_t chars = 20);

// A random token of `bytes` bytes, hex-encoded (session and CSRF tokens).
std::string RandomToken(size_t bytes = 32);

}  // namespace mosaic::client
