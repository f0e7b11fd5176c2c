#pragma once
// A free list of stripe-sized buffers for one object writer or reader, so that an object of
// any size reuses the few buffers its budget allows instead of allocating and freeing a
// few MiB per stripe. That churn is what let the process grow far past the budget: once
// glibc has freed one large mmapped block it serves blocks of that size from its per-thread
// arenas, which buffers freed on other threads fragment and keep resident (a 2 GiB object
// with a 64 MiB budget peaked at ~600 MiB RSS).
//
// Thread-safe. Take never blocks beyond the lock.

#include <algorithm>
#include <mutex>
#include <vector>

#include "common/aligned_buffer.h"

namespace mosaic::client {

class BufferCache {
 public:
  // Keeps at most `max_buffers` free buffers; more are freed when given back.
  explicit BufferCache(size_t max_buffers) : max_buffers_(max_buffers) {}

  // A buffer of `size` bytes: a cached one whose capacity is enough (contents unspecified)
  // or, if none is, a new one (zeroed).
  AlignedBuffer Take(size_t size) {
    {
      std::lock_guard lock(mu_);
      auto it = std::find_if(free_.begin(), free_.end(), [&](const AlignedBuffer& b) {
        return b.capacity() >= AlignUp(size);
      });
      if (it != free_.end()) {
        AlignedBuffer b = std::move(*it);
        free_.erase(it);
        b.Resize(size);
        return b;
      }
    }
    return AlignedBuffer(size);
  }

  // Takes `buffer` back for reuse (an empty one is ignored).
  void Give(AlignedBuffer buffer) {
    if (buffer.capacity() == 0) return;
    std::lock_guard lock(mu_);
    if (free_.size() < max_buffers_) free_.push_back(std::move(buffer));
  }

 private:
  const size_t max_buffers_;
  std::mutex mu_;
  std::vector<AlignedBuffer> free_;
};

}  // namespace mosaic::client
