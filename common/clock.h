#pragma once
// Wall-clock time as the metadata stores it: milliseconds since the Unix epoch.

#include <chrono>
#include <cstdint>

namespace mosaic {

// Milliseconds since 1970-01-01T00:00:00Z by the system clock. Any thread.
inline int64_t UnixNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace mosaic
