#pragma once
// An owning byte buffer whose start and capacity are multiples of an alignment (4096 by
// default), as O_DIRECT and SIMD code need; zero-initialised unless made by Uninitialized or
// Mapped. Move-only (a moved-from buffer is empty). Not thread-safe; a buffer belongs to one
// thread at a time. Buffers that requests use over and over come from common/buffer_pool.h.

#include <cstddef>
#include <memory>

#include "common/bytes.h"

namespace mosaic {

inline constexpr size_t kDirectIoAlignment = 4096;

inline constexpr size_t AlignUp(size_t n, size_t alignment = kDirectIoAlignment) {
  return (n + alignment - 1) / alignment * alignment;
}
inline constexpr size_t AlignDown(size_t n, size_t alignment = kDirectIoAlignment) {
  return n / alignment * alignment;
}

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  // Allocates AlignUp(size) bytes; size() reports `size`. Aborts only if memory is exhausted.
  explicit AlignedBuffer(size_t size, size_t alignment = kDirectIoAlignment);

  // Like the constructor, without zeroing: for buffers about to be overwritten whole (a
  // read's destination, a record being assembled). The caller owns the contents.
  static AlignedBuffer Uninitialized(size_t size, size_t alignment = kDirectIoAlignment);

  // Page-aligned, from its own anonymous mmap, unmapped when freed (so that freeing it never
  // leaves memory in malloc's arenas). Its pages read as zero until written.
  static AlignedBuffer Mapped(size_t size);

  AlignedBuffer(AlignedBuffer&& other) noexcept;
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept;

  std::byte* data() { return data_.get(); }
  const std::byte* data() const { return data_.get(); }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  ByteSpan span() { return {data_.get(), size_}; }
  ConstByteSpan span() const { return {data_.get(), size_}; }

  // Sets size() to `size`, which must not exceed capacity(). Contents are kept.
  void Resize(size_t size);

 private:
  AlignedBuffer(size_t size, size_t alignment, bool zero);
  struct Free {
    size_t mapped_bytes;  // non-zero: munmap this many bytes, else free(); {} is 0
    void operator()(std::byte* p) const;
  };
  std::unique_ptr<std::byte, Free> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace mosaic
