#pragma once
// The two ChunkService messages that carry shard bytes, encoded and decoded by hand around
// gRPC byte buffers, so that a shard is not copied into a protobuf string and again into
// gRPC's buffer on the way out, nor parsed into a freshly allocated string on the way in.
// The bytes on the wire are protobuf's (proto/mosaic/v1/node.proto): the node parses these
// requests, and serializes these responses, with the generated classes.
//
// Thread-compatible: each function works on its arguments only.

#include <grpcpp/support/byte_buffer.h>

#include <cstdint>
#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/aligned_buffer.h"
#include "common/bytes.h"

namespace mosaic::client::wire {

// A PutChunkRequest {chunk_id, data, crc32c}. With an `owner`, the data field is `data`
// itself, not a copy: the buffer holds a reference to `owner` (which must keep `data` alive
// and unchanged) until gRPC has released the bytes — possibly after the call's callback.
// Without one, the bytes are copied once, here.
grpc::ByteBuffer PutChunkRequest(std::string_view chunk_id, ConstByteSpan data, uint32_t crc32c,
                                 std::shared_ptr<const void> owner);

// The data field of a serialized GetChunkResponse (the other fields are skipped), copied once
// into a buffer from BufferPool::Global() that the caller should give back. INTERNAL for a
// message that is not a well-formed GetChunkResponse. Consumes `response`.
absl::StatusOr<AlignedBuffer> GetChunkResponseData(grpc::ByteBuffer& response);

}  // namespace mosaic::client::wire
