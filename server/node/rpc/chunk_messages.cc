#include "server/node/rpc/chunk_messages.h"

#include <grpcpp/support/slice.h>

#include <vector>

#include "common/buffer_pool.h"
#include "common/proto_wire.h"
#include "proto/mosaic/v1/node.pb.h"

namespace mosaic::node {
namespace {

constexpr uint32_t kGetData = 1;  // GetChunkResponse.data

void GiveBack(void* record) {
  auto* owned = static_cast<AlignedBuffer*>(record);
  BufferPool::Global().Give(std::move(*owned));
  delete owned;
}

}  // namespace

absl::Status ParseTakingBytes(grpc::ByteBuffer& buffer, uint32_t field,
                              google::protobuf::Message& message, AlignedBuffer& payload,
                              size_t headroom) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return absl::InvalidArgumentError("request: unreadable");
  buffer.Clear();
  proto_wire::Reader r = proto_wire::Reader::Of(slices);
  std::string rest;  // every other field, for the generated parser
  BufferPool::Global().Give(std::move(payload));
  while (!r.AtEnd()) {
    uint32_t f = 0;
    int type = 0;
    bool ok = r.Tag(f, type) && (f == field && type == proto_wire::kLengthDelimited
                                     ? r.ReadBytesInto(payload, headroom)
                                     : r.AppendField(f, type, rest));
    if (!ok) {
      BufferPool::Global().Give(std::move(payload));
      return absl::InvalidArgumentError("request: malformed message");
    }
  }
  if (!message.ParseFromString(rest)) {
    BufferPool::Global().Give(std::move(payload));
    return absl::InvalidArgumentError("request: malformed message");
  }
  return absl::OkStatus();
}

grpc::ByteBuffer GetChunkResponseBuffer(AlignedBuffer record, size_t offset, size_t length,
                                        uint64_t chunk_length, uint32_t chunk_crc32c) {
  v1::GetChunkResponse head;  // every field but data, which follows as its own slice
  head.set_chunk_length(chunk_length);
  head.set_chunk_crc32c(chunk_crc32c);
  std::string bytes = head.SerializeAsString();
  proto_wire::AppendBytesFieldHeader(bytes, kGetData, length);
  auto* owned = new AlignedBuffer(std::move(record));
  grpc::Slice slices[2] = {grpc::Slice(bytes),
                           grpc::Slice(owned->data() + offset, length, &GiveBack, owned)};
  return grpc::ByteBuffer(slices, 2);
}

}  // namespace mosaic::node
