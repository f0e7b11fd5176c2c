#pragma once
// A cursor over a fuzzer's input, for targets that build structured input from raw bytes
// (a selector byte, a size, then the rest). Every take is total: past the end it returns
// zeros or an empty view, so every input is a valid one. Not thread-safe.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mosaic::fuzz {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : rest_(reinterpret_cast<const char*>(data), size) {}

  uint8_t Byte() {
    if (rest_.empty()) return 0;
    uint8_t b = static_cast<uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    return b;
  }
  uint64_t U64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | Byte();
    return v;
  }
  // Up to `max` bytes.
  std::string_view Bytes(size_t max) {
    std::string_view out = rest_.substr(0, std::min(max, rest_.size()));
    rest_.remove_prefix(out.size());
    return out;
  }
  // Up to the next `delim` (dropped) or the end.
  std::string_view Until(char delim) {
    size_t at = rest_.find(delim);
    std::string_view out = rest_.substr(0, at);
    rest_.remove_prefix(at == std::string_view::npos ? rest_.size() : at + 1);
    return out;
  }
  std::string_view Rest() {
    std::string_view out = rest_;
    rest_ = {};
    return out;
  }
  bool empty() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

// Splits "name: value" lines into headers with lower-case names, as the HTTP layer hands them
// to the S3 code (at most 64; lines without a colon are skipped).
std::vector<std::pair<std::string, std::string>> HeaderLines(std::string_view text);

// A new empty directory named `prefix`-XXXXXX for a target's files: in /dev/shm when there is
// one (targets that open RocksDB sync on every write, which costs nothing on tmpfs), else in
// the temporary directory. The caller removes it. Stops the process if it cannot be made.
std::string NewTempDir(const std::string& prefix);

}  // namespace mosaic::fuzz
