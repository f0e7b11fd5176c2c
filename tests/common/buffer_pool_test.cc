#include "common/buffer_pool.h"

#include <gtest/gtest.h>

#include <cstring>

namespace mosaic {
namespace {

TEST(BufferPoolTest, ClassesAreAtMostHalfAgainTheSizeAsked) {
  EXPECT_EQ(BufferPool::ClassBytes(0), 4096u);
  EXPECT_EQ(BufferPool::ClassBytes(4097), 6144u);
  EXPECT_EQ(BufferPool::ClassBytes(64 << 10), size_t{64} << 10);
  EXPECT_EQ(BufferPool::ClassBytes((64 << 10) + 1), size_t{96} << 10);
  for (size_t size : {size_t{1}, size_t{5000}, size_t{1} << 20, (size_t{6} << 20) + 96}) {
    EXPECT_GE(BufferPool::ClassBytes(size), size);
    EXPECT_LE(BufferPool::ClassBytes(size), AlignUp(size) * 3 / 2 + 4096) << size;
  }
}

TEST(BufferPoolTest, GivenBufferIsTakenAgainUnzeroed) {
  BufferPool pool(size_t{16} << 20);
  AlignedBuffer a = pool.Take(1 << 20);
  ASSERT_EQ(a.size(), size_t{1} << 20);
  std::memset(a.data(), 0xAB, a.size());
  std::byte* where = a.data();
  pool.Give(std::move(a));
  EXPECT_EQ(pool.idle_bytes(), size_t{1} << 20);
  AlignedBuffer b = pool.Take((1 << 20) - 100);  // the same class
  EXPECT_EQ(b.data(), where);
  EXPECT_EQ(b.size(), (size_t{1} << 20) - 100);
  EXPECT_EQ(b.data()[12345], std::byte{0xAB});  // reused as it was: never zeroed
  EXPECT_EQ(pool.idle_bytes(), 0u);
}

TEST(BufferPoolTest, IdleBytesStayWithinTheBound) {
  BufferPool pool(size_t{3} << 20);
  std::vector<AlignedBuffer> taken;
  for (int i = 0; i < 8; ++i) taken.push_back(pool.Take(1 << 20));
  for (auto& b : taken) pool.Give(std::move(b));
  EXPECT_EQ(pool.idle_bytes(), size_t{3} << 20);
}

TEST(BufferPoolTest, ForeignAndEmptyBuffersAreNotKept) {
  BufferPool pool(size_t{16} << 20);
  pool.Give(AlignedBuffer());
  pool.Give(AlignedBuffer(5 * 4096));  // 20 KiB: not a class size
  EXPECT_EQ(pool.idle_bytes(), 0u);
}

TEST(BufferPoolTest, PooledBufferGoesBackWhenDropped) {
  BufferPool pool(size_t{16} << 20);
  {
    PooledBuffer b(pool, 300 << 10);
    EXPECT_EQ(b.size(), size_t{300} << 10);
    b.data()[0] = std::byte{1};
  }
  EXPECT_EQ(pool.idle_bytes(), BufferPool::ClassBytes(300 << 10));
}

TEST(BufferPoolTest, SharedBufferGoesBackWithItsLastReference) {
  BufferPool pool(size_t{16} << 20);
  std::shared_ptr<AlignedBuffer> a = pool.TakeShared(1 << 20);
  std::shared_ptr<const void> held_by_send = a;  // as a gRPC slice's owner holds it
  a.reset();
  EXPECT_EQ(pool.idle_bytes(), 0u) << "given back while still referenced";
  held_by_send.reset();
  EXPECT_EQ(pool.idle_bytes(), size_t{1} << 20);
}

TEST(AlignedBufferTest, MovedFromBufferIsEmpty) {
  AlignedBuffer a = AlignedBuffer::Mapped(1 << 20);
  AlignedBuffer b = std::move(a);
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(a.capacity(), 0u);
  EXPECT_EQ(b.capacity(), size_t{1} << 20);
  EXPECT_EQ(b.data()[4096], std::byte{0});  // fresh mapped pages read as zero
}

}  // namespace
}  // namespace mosaic
