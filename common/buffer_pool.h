#pragma once
// A process-wide pool of aligned buffers by size class, so that requests reuse memory that is
// already mapped and faulted in instead of allocating (and the kernel zeroing) fresh pages
// for every stripe, workspace and body buffer. Buffers are never zeroed: a buffer's contents
// are unspecified when taken, and callers overwrite what they use.
//
// Size classes are 4 KiB × 2^i and 6 KiB × 2^i (so a buffer is at most 1.5× what was asked
// for, rounded to 4 KiB). Classes from kMappedFromBytes up are their own mmap (returned to
// the kernel when freed), so freed buffers never fragment malloc's arenas; smaller ones come
// from aligned_alloc. The pool keeps at most max_idle_bytes in idle buffers; beyond that a
// buffer given back is freed.
//
// Thread-safe: one mutex held for a vector push or pop. Take never blocks otherwise.

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "common/aligned_buffer.h"

namespace mosaic {

class BufferPool {
 public:
  static constexpr size_t kMappedFromBytes = size_t{256} << 10;

  explicit BufferPool(size_t max_idle_bytes);
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // The pool shared by the whole process (128 MiB of idle buffers at most). Never destroyed.
  static BufferPool& Global();

  // A buffer with size() == `size` and capacity() == ClassBytes(size); contents unspecified.
  AlignedBuffer Take(size_t size);
  // Like Take, shared: the buffer goes back to this pool when the last reference is dropped
  // (for buffers that another thread, e.g. gRPC sending them, may hold past their user).
  std::shared_ptr<AlignedBuffer> TakeShared(size_t size);
  // Keeps `buffer` for reuse if its capacity is a size class and the idle bound allows, else
  // frees it. An empty buffer is ignored.
  void Give(AlignedBuffer buffer);

  // The capacity of the buffer Take(size) returns.
  static size_t ClassBytes(size_t size);
  size_t idle_bytes() const;

 private:
  static int ClassOf(size_t size);

  const size_t max_idle_bytes_;
  mutable std::mutex mu_;
  size_t idle_bytes_ = 0;
  std::vector<std::vector<AlignedBuffer>> idle_;  // by class
};

// A buffer taken from a pool and given back when this goes out of scope. Move-only.
class PooledBuffer {
 public:
  PooledBuffer(BufferPool& pool, size_t size) : pool_(&pool), buffer_(pool.Take(size)) {}
  explicit PooledBuffer(size_t size) : PooledBuffer(BufferPool::Global(), size) {}
  PooledBuffer(PooledBuffer&& other) noexcept = default;
  PooledBuffer& operator=(PooledBuffer&&) = delete;
  ~PooledBuffer() {
    if (pool_ != nullptr) pool_->Give(std::move(buffer_));
  }

  AlignedBuffer& get() { return buffer_; }
  std::byte* data() { return buffer_.data(); }
  size_t size() const { return buffer_.size(); }
  ByteSpan span() { return buffer_.span(); }

 private:
  BufferPool* pool_;
  AlignedBuffer buffer_;
};

}  // namespace mosaic
