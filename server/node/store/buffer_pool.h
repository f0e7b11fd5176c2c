#pragma once
// Reuse of record-sized O_DIRECT buffers by one thread. Allocating a fresh MiB-sized buffer
// per request costs an mmap, a page fault per 4 KiB page and an munmap (the profile of 1 MiB
// puts showed a fifth of the node's time there); a few kept buffers avoid all three.
// Not thread-safe: each I/O thread has its own pool.

#include <cstddef>
#include <vector>

#include "common/aligned_buffer.h"

namespace mosaic::node {

class BufferPool {
 public:
  // Keeps at most `max_bytes` of capacity in reserve.
  explicit BufferPool(size_t max_bytes) : max_bytes_(max_bytes) {}

  // A buffer of size() == `size`, contents unspecified (not zeroed).
  AlignedBuffer Take(size_t size) {
    for (size_t i = 0; i < free_.size(); ++i) {
      if (free_[i].capacity() >= size && free_[i].capacity() <= 2 * AlignUp(size) + 4096) {
        AlignedBuffer b = std::move(free_[i]);
        free_[i] = std::move(free_.back());
        free_.pop_back();
        kept_ -= b.capacity();
        b.Resize(size);
        return b;
      }
    }
    return AlignedBuffer::Uninitialized(size);
  }

  // Returns a buffer for reuse (dropped when the reserve is full).
  void Give(AlignedBuffer b) {
    if (b.capacity() == 0 || kept_ + b.capacity() > max_bytes_) return;
    kept_ += b.capacity();
    free_.push_back(std::move(b));
  }

 private:
  size_t max_bytes_;
  size_t kept_ = 0;
  std::vector<AlignedBuffer> free_;
};

}  // namespace mosaic::node
