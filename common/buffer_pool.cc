#include "common/buffer_pool.h"

#include "common/check.h"

namespace mosaic {
namespace {

constexpr int kClasses = 2 * 40;  // 4 KiB .. beyond any buffer a process can have

size_t BytesOfClass(int c) {
  size_t base = kDirectIoAlignment << (c / 2);
  return c % 2 == 0 ? base : base + base / 2;
}

}  // namespace

BufferPool::BufferPool(size_t max_idle_bytes) : max_idle_bytes_(max_idle_bytes), idle_(kClasses) {}

BufferPool& BufferPool::Global() {
  static BufferPool* pool = new BufferPool(size_t{128} << 20);
  return *pool;
}

int BufferPool::ClassOf(size_t size) {
  int c = 0;
  while (BytesOfClass(c) < size) ++c;
  CHECK(c < kClasses);
  return c;
}

size_t BufferPool::ClassBytes(size_t size) { return BytesOfClass(ClassOf(size)); }

AlignedBuffer BufferPool::Take(size_t size) {
  const int c = ClassOf(size);
  {
    std::lock_guard lock(mu_);
    std::vector<AlignedBuffer>& idle = idle_[c];
    if (!idle.empty()) {
      AlignedBuffer b = std::move(idle.back());
      idle.pop_back();
      idle_bytes_ -= b.capacity();
      b.Resize(size);
      return b;
    }
  }
  const size_t bytes = BytesOfClass(c);
  AlignedBuffer b = bytes >= kMappedFromBytes ? AlignedBuffer::Mapped(bytes)
                                              : AlignedBuffer::Uninitialized(bytes);
  b.Resize(size);
  return b;
}

std::shared_ptr<AlignedBuffer> BufferPool::TakeShared(size_t size) {
  return std::shared_ptr<AlignedBuffer>(new AlignedBuffer(Take(size)), [this](AlignedBuffer* b) {
    Give(std::move(*b));
    delete b;
  });
}

void BufferPool::Give(AlignedBuffer buffer) {
  if (buffer.data() == nullptr) return;
  const int c = ClassOf(buffer.capacity());
  if (BytesOfClass(c) != buffer.capacity()) return;  // not one of ours: freed here
  std::lock_guard lock(mu_);
  if (idle_bytes_ + buffer.capacity() > max_idle_bytes_) return;
  idle_bytes_ += buffer.capacity();
  idle_[c].push_back(std::move(buffer));
}

size_t BufferPool::idle_bytes() const {
  std::lock_guard lock(mu_);
  return idle_bytes_;
}

}  // namespace mosaic
