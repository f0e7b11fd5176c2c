#include "client/rpc/chunk_wire.h"

#include <grpcpp/impl/codegen/proto_utils.h>
#include <gtest/gtest.h>

#include <vector>

#include "common/buffer_pool.h"
#include "proto/mosaic/v1/node.pb.h"
#include "tests/support/pattern.h"

namespace mosaic::client::wire {
namespace {

// A received message as gRPC hands it over: the bytes cut into slices at `cuts`.
grpc::ByteBuffer Sliced(const std::string& bytes, std::vector<size_t> cuts) {
  std::vector<grpc::Slice> slices;
  size_t at = 0;
  cuts.push_back(bytes.size());
  for (size_t cut : cuts) {
    slices.emplace_back(bytes.data() + at, cut - at);
    at = cut;
  }
  return grpc::ByteBuffer(slices.data(), slices.size());
}

v1::PutChunkRequest Parse(grpc::ByteBuffer& buffer) {
  v1::PutChunkRequest req;
  EXPECT_TRUE(grpc::SerializationTraits<v1::PutChunkRequest>::Deserialize(&buffer, &req).ok());
  return req;
}

TEST(ChunkWireTest, PutRequestSendsTheOwnersBytesWithoutACopy) {
  auto owner = BufferPool::Global().TakeShared(300 << 10);
  std::string bytes = test::PatternString(1, owner->size());
  std::memcpy(owner->data(), bytes.data(), bytes.size());
  {
    grpc::ByteBuffer request = PutChunkRequest("chunk-1", owner->span(), 0xDEADBEEF, owner);
    EXPECT_GT(owner.use_count(), 1) << "the request must hold the owner while it is alive";
    std::vector<grpc::Slice> slices;
    ASSERT_TRUE(request.Dump(&slices).ok());
    ASSERT_EQ(slices.size(), 2u);
    EXPECT_EQ(static_cast<const void*>(slices[1].begin()), owner->data()) << "data was copied";
    grpc::ByteBuffer copy(request);
    v1::PutChunkRequest req = Parse(copy);
    EXPECT_EQ(req.chunk_id(), "chunk-1");
    EXPECT_EQ(req.data(), bytes);
    ASSERT_TRUE(req.has_crc32c());
    EXPECT_EQ(req.crc32c(), 0xDEADBEEFu);
  }
  EXPECT_EQ(owner.use_count(), 1) << "the owner must be released with the last slice";
}

TEST(ChunkWireTest, PutRequestWithoutOwnerCopiesAndParses) {
  std::string bytes = test::PatternString(2, 5000);
  grpc::ByteBuffer request = PutChunkRequest("c", AsBytes(bytes), 7, nullptr);
  bytes.assign(bytes.size(), 'x');  // the caller may reuse its bytes once Put returned
  v1::PutChunkRequest req = Parse(request);
  EXPECT_EQ(req.data(), test::PatternString(2, 5000));
  EXPECT_EQ(req.crc32c(), 7u);
}

TEST(ChunkWireTest, GetResponseDataIsReadAcrossSlicesAndFieldsInAnyOrder) {
  v1::GetChunkResponse data_part, rest;
  data_part.set_data(test::PatternString(3, (1 << 20) + 16));
  rest.set_chunk_length(123456789);
  rest.set_chunk_crc32c(42);
  // Concatenated messages merge: the other fields before and after the data, as a node's
  // serializer may order them, and unknown fields of a newer node skipped.
  std::string unknown = "\xa0\x06\x05";  // field 100, varint 5
  std::string wire =
      rest.SerializeAsString() + data_part.SerializeAsString() + unknown + rest.SerializeAsString();
  for (std::vector<size_t> cuts : {std::vector<size_t>{}, std::vector<size_t>{1, 2, 3, 17},
                                   std::vector<size_t>{8191, 8192, 500000, wire.size() - 1}}) {
    grpc::ByteBuffer response = Sliced(wire, cuts);
    auto got = GetChunkResponseData(response);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(got->data()), got->size()),
              data_part.data());
    BufferPool::Global().Give(std::move(*got));
  }
}

TEST(ChunkWireTest, GetResponseWithoutDataIsEmpty) {
  v1::GetChunkResponse r;
  r.set_chunk_length(0);
  grpc::ByteBuffer response = Sliced(r.SerializeAsString() + "\x1d\x01\x02\x03\x04", {});
  auto got = GetChunkResponseData(response);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->size(), 0u);
}

TEST(ChunkWireTest, MalformedGetResponseIsInternal) {
  v1::GetChunkResponse r;
  r.set_data(test::PatternString(4, 1000));
  std::string wire = r.SerializeAsString();
  for (std::string bad : {wire.substr(0, wire.size() - 1), std::string("\x0a\xff\xff\xff\x7f", 5),
                          std::string("\x0f", 1), std::string("\x80", 1)}) {
    grpc::ByteBuffer response = Sliced(bad, {});
    EXPECT_EQ(GetChunkResponseData(response).status().code(), absl::StatusCode::kInternal);
  }
}

}  // namespace
}  // namespace mosaic::client::wire
