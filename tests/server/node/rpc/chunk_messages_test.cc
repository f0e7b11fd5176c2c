#include "server/node/rpc/chunk_messages.h"

#include <grpcpp/impl/codegen/proto_utils.h>
#include <gtest/gtest.h>

#include <cstring>

#include "common/buffer_pool.h"
#include "proto/mosaic/v1/node.pb.h"
#include "tests/support/pattern.h"

namespace mosaic::node {
namespace {

// A message as gRPC receives it: cut into slices of `piece` bytes.
grpc::ByteBuffer Sliced(const std::string& bytes, size_t piece) {
  std::vector<grpc::Slice> slices;
  for (size_t at = 0; at < bytes.size(); at += piece) {
    slices.emplace_back(bytes.data() + at, std::min(piece, bytes.size() - at));
  }
  return grpc::ByteBuffer(slices.data(), slices.size());
}

TEST(ChunkMessagesTest, PutRequestDataGoesToThePayloadAndTheRestToTheMessage) {
  v1::PutChunkRequest sent;
  sent.set_chunk_id("chunk-7");
  sent.set_data(test::PatternString(1, (1 << 20) + 16));
  sent.set_crc32c(0x12345678);
  for (size_t piece : {size_t{1} << 30, size_t{8192}, size_t{7}}) {
    grpc::ByteBuffer buffer = Sliced(sent.SerializeAsString(), piece);
    v1::PutChunkRequest got;
    AlignedBuffer payload;
    ASSERT_TRUE(ParseTakingBytes(buffer, 2, got, payload).ok());
    EXPECT_EQ(got.chunk_id(), "chunk-7");
    ASSERT_TRUE(got.has_crc32c());
    EXPECT_EQ(got.crc32c(), 0x12345678u);
    EXPECT_TRUE(got.data().empty()) << "the data was parsed into a string as well";
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(payload.data()), payload.size()),
              sent.data());
    BufferPool::Global().Give(std::move(payload));
  }
}

// The node reads a put's data after room for its record header (issue 14), so that the store
// frames the record around it instead of copying it.
TEST(ChunkMessagesTest, PutRequestDataCanBeReadAfterHeadroom) {
  v1::PutChunkRequest sent;
  sent.set_chunk_id("c");
  sent.set_data(test::PatternString(4, 70000));
  grpc::ByteBuffer buffer = Sliced(sent.SerializeAsString(), 8192);
  v1::PutChunkRequest got;
  AlignedBuffer payload;
  ASSERT_TRUE(ParseTakingBytes(buffer, 2, got, payload, 256).ok());
  ASSERT_EQ(payload.size(), 256 + sent.data().size());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(payload.data()) + 256, sent.data().size()),
            sent.data());
  BufferPool::Global().Give(std::move(payload));
}

TEST(ChunkMessagesTest, MalformedPutRequestIsInvalidArgument) {
  v1::PutChunkRequest sent;
  sent.set_chunk_id("c");
  sent.set_data(test::PatternString(2, 5000));
  std::string wire = sent.SerializeAsString();
  for (std::string bad : {wire.substr(0, wire.size() - 3), std::string("\x12\xff\xff\x7f", 4),
                          std::string("\x0a\x05"
                                      "ab",
                                      4),
                          std::string("\x0b", 1)}) {
    grpc::ByteBuffer buffer = Sliced(bad, 3);
    v1::PutChunkRequest got;
    AlignedBuffer payload;
    EXPECT_EQ(ParseTakingBytes(buffer, 2, got, payload).code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(ChunkMessagesTest, GetResponseParsesAsTheGeneratedMessage) {
  std::string data = test::PatternString(3, 300000);
  AlignedBuffer record = BufferPool::Global().Take(data.size() + 256);
  std::memcpy(record.data() + 256, data.data(), data.size());
  grpc::ByteBuffer buffer =
      GetChunkResponseBuffer(std::move(record), 256, data.size(), 999999, 0xCAFEF00D);
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(buffer.Dump(&slices).ok());
  EXPECT_EQ(slices.back().size(), data.size()) << "the data is not a slice of its own";
  v1::GetChunkResponse got;
  ASSERT_TRUE(grpc::SerializationTraits<v1::GetChunkResponse>::Deserialize(&buffer, &got).ok());
  EXPECT_EQ(got.data(), data);
  EXPECT_EQ(got.chunk_length(), 999999u);
  EXPECT_EQ(got.chunk_crc32c(), 0xCAFEF00Du);
}

// The chunk's bytes are sent from the record buffer the reader filled, not from a copy, and
// that buffer goes back to the pool once gRPC is done with it.
TEST(ChunkMessagesTest, GetResponseSendsTheRecordItselfAndGivesItBack) {
  AlignedBuffer record = BufferPool::Global().Take(size_t{1} << 20);
  const std::byte* at = record.data();
  size_t capacity = record.capacity();
  size_t idle_before = BufferPool::Global().idle_bytes();
  {
    grpc::ByteBuffer buffer = GetChunkResponseBuffer(std::move(record), 256, 5000, 5000, 1);
    std::vector<grpc::Slice> slices;
    ASSERT_TRUE(buffer.Dump(&slices).ok());
    EXPECT_EQ(slices.back().begin(), reinterpret_cast<const uint8_t*>(at + 256))
        << "the chunk's bytes were copied";
    EXPECT_EQ(slices.back().size(), 5000u);
    EXPECT_EQ(BufferPool::Global().idle_bytes(), idle_before) << "given back while in use";
  }
  EXPECT_EQ(BufferPool::Global().idle_bytes(), idle_before + capacity);
}

}  // namespace
}  // namespace mosaic::node
