#include "common/aligned_buffer.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <utility>

#include "common/check.h"

namespace mosaic {

AlignedBuffer::AlignedBuffer(size_t size, size_t alignment)
    : AlignedBuffer(size, alignment, true) {}

AlignedBuffer::AlignedBuffer(size_t size, size_t alignment, bool zero)
    : size_(size), capacity_(AlignUp(size == 0 ? alignment : size, alignment)) {
  void* p = std::aligned_alloc(alignment, capacity_);
  CHECK(p != nullptr);
  if (zero) std::memset(p, 0, capacity_);
  data_.reset(static_cast<std::byte*>(p));
}

AlignedBuffer AlignedBuffer::Uninitialized(size_t size, size_t alignment) {
  return AlignedBuffer(size, alignment, false);
}

AlignedBuffer AlignedBuffer::Mapped(size_t size) {
  AlignedBuffer b;
  b.size_ = size;
  b.capacity_ = AlignUp(size == 0 ? kDirectIoAlignment : size);
  void* p = mmap(nullptr, b.capacity_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(p != MAP_FAILED);
  b.data_ = std::unique_ptr<std::byte, Free>(static_cast<std::byte*>(p), Free{b.capacity_});
  return b;
}

AlignedBuffer::AlignedBuffer(AlignedBuffer&& other) noexcept
    : data_(std::move(other.data_)),
      size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)) {}

AlignedBuffer& AlignedBuffer::operator=(AlignedBuffer&& other) noexcept {
  data_ = std::move(other.data_);
  size_ = std::exchange(other.size_, 0);
  capacity_ = std::exchange(other.capacity_, 0);
  return *this;
}

void AlignedBuffer::Resize(size_t size) {
  CHECK_LE(size, capacity_);
  size_ = size;
}

void AlignedBuffer::Free::operator()(std::byte* p) const {
  if (mapped_bytes != 0) {
    munmap(p, mapped_bytes);
  } else {
    std::free(p);
  }
}

}  // namespace mosaic
