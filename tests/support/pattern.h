#pragma once
// Deterministic test bytes that can be regenerated from any offset, so that tests of large
// objects write and verify them as streams instead of holding them in memory: byte i of the
// pattern with `seed` is byte (i % 8) of splitmix64(seed, i / 8).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

namespace mosaic::test {

inline uint64_t PatternWord(uint64_t seed, uint64_t word) {
  uint64_t z = seed * 0x9e3779b97f4a7c15ULL + (word + 1) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Fills `out` with the pattern's bytes [offset, offset + out.size()).
inline void FillPattern(uint64_t seed, uint64_t offset, std::span<std::byte> out) {
  size_t i = 0;
  while (i < out.size()) {
    uint64_t at = offset + i;
    uint64_t word = PatternWord(seed, at / 8);
    size_t skip = at % 8;
    size_t n = std::min<size_t>(8 - skip, out.size() - i);
    std::memcpy(out.data() + i, reinterpret_cast<const std::byte*>(&word) + skip, n);
    i += n;
  }
}

// The pattern's first `size` bytes as a string (for small test messages).
inline std::string PatternString(uint64_t seed, size_t size) {
  std::string s(size, '\0');
  FillPattern(seed, 0, std::as_writable_bytes(std::span(s)));
  return s;
}

}  // namespace mosaic::test
