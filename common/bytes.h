#pragma once
// Byte spans and little-endian fixed-width encoding. Spans never own their bytes: the caller
// keeps the storage alive for as long as the span is used.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

namespace mosaic {

// Debian 12's Abseil is built with its own absl::string_view, distinct from
// std::string_view; these convert at the boundary without copying.
inline absl::string_view ToAbsl(std::string_view s) { return {s.data(), s.size()}; }
inline std::string_view FromAbsl(absl::string_view s) { return {s.data(), s.size()}; }

using ByteSpan = std::span<std::byte>;
using ConstByteSpan = std::span<const std::byte>;

inline ConstByteSpan AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
inline std::string_view AsStringView(ConstByteSpan b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Fixed-width little-endian stores and loads; `p` must have room for the width.
inline void StoreLE16(std::byte* p, uint16_t v) {
  for (int i = 0; i < 2; ++i) p[i] = std::byte(v >> (8 * i));
}
inline void StoreLE32(std::byte* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = std::byte(v >> (8 * i));
}
inline void StoreLE64(std::byte* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = std::byte(v >> (8 * i));
}
inline uint16_t LoadLE16(const std::byte* p) {
  return uint16_t(uint16_t(p[0]) | uint16_t(p[1]) << 8);
}
inline uint32_t LoadLE32(const std::byte* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | uint32_t(p[i]);
  return v;
}
inline uint64_t LoadLE64(const std::byte* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | uint64_t(p[i]);
  return v;
}

// Big-endian u64 appended to a string: keeps numeric order under bytewise comparison
// (RocksDB keys).
inline void AppendBE64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(char((v >> (8 * i)) & 0xff));
}
inline uint64_t LoadBE64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | uint8_t(p[i]);
  return v;
}

// Lower-case hex of `b`, for logs and tests.
std::string HexEncode(ConstByteSpan b);

}  // namespace mosaic
