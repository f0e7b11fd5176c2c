#include "client/rpc/chunk_wire.h"

#include <grpcpp/support/slice.h>

#include <vector>

#include "common/buffer_pool.h"
#include "common/proto_wire.h"
#include "proto/mosaic/v1/node.pb.h"

namespace mosaic::client::wire {
namespace {

constexpr uint32_t kPutData = 2;  // PutChunkRequest.data
constexpr uint32_t kGetData = 1;  // GetChunkResponse.data

void ReleaseOwner(void* owner) { delete static_cast<std::shared_ptr<const void>*>(owner); }

}  // namespace

grpc::ByteBuffer PutChunkRequest(std::string_view chunk_id, ConstByteSpan data, uint32_t crc32c,
                                 std::shared_ptr<const void> owner) {
  v1::PutChunkRequest head;  // every field but data, which follows as its own slice
  head.set_chunk_id(std::string(chunk_id));
  head.set_crc32c(crc32c);
  std::string bytes = head.SerializeAsString();
  proto_wire::AppendBytesFieldHeader(bytes, kPutData, data.size());
  grpc::Slice slices[2] = {grpc::Slice(bytes), grpc::Slice()};
  if (owner == nullptr) {
    slices[1] = grpc::Slice(data.data(), data.size());
  } else {
    auto* ref = new std::shared_ptr<const void>(std::move(owner));
    slices[1] = grpc::Slice(const_cast<std::byte*>(data.data()), data.size(), &ReleaseOwner, ref);
  }
  return grpc::ByteBuffer(slices, 2);
}

absl::StatusOr<AlignedBuffer> GetChunkResponseData(grpc::ByteBuffer& response) {
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return absl::InternalError("GetChunkResponse: unreadable");
  response.Clear();
  proto_wire::Reader r = proto_wire::Reader::Of(slices);
  AlignedBuffer data;
  while (!r.AtEnd()) {
    uint32_t field = 0;
    int type = 0;
    bool ok = r.Tag(field, type) &&
              (field == kGetData && type == proto_wire::kLengthDelimited ? r.ReadBytesInto(data)
                                                                         : r.Skip(type));
    if (!ok) {
      BufferPool::Global().Give(std::move(data));
      return absl::InternalError("GetChunkResponse: malformed message");
    }
  }
  if (data.data() == nullptr) data = BufferPool::Global().Take(0);
  return data;
}

}  // namespace mosaic::client::wire
