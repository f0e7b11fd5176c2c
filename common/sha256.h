#pragma once
// SHA-256 through OpenSSL's EVP (SHA-NI where the CPU has it). Thread-safe.

#include <array>
#include <cstdint>
#include <string>

#include "common/bytes.h"

namespace mosaic {

std::array<uint8_t, 32> Sha256(ConstByteSpan data);
std::string Sha256Hex(ConstByteSpan data);

// Compares two equal-length byte strings in time independent of where they differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace mosaic
