#include "common/aligned_buffer.h"

#include <cstdlib>
#include <cstring>

#include "common/check.h"

namespace mosaic {

AlignedBuffer::AlignedBuffer(size_t size, size_t alignment) : AlignedBuffer(size, alignment, true) {}

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

void AlignedBuffer::Resize(size_t size) {
  CHECK_LE(size, capacity_);
  size_ = size;
}

void AlignedBuffer::Free::operator()(std::byte* p) const { std::free(p); }

}  // namespace mosaic
