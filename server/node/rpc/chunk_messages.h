#pragma once
// The node's side of the shard-carrying messages, without passing shard bytes through
// protobuf strings: a PutChunkRequest's data is read out of gRPC's slices into a pooled buffer
// (not a freshly mapped string), and a GetChunkResponse is sent with the chunk's bytes as a
// slice of their own (not copied again into gRPC's buffer). The wire format is unchanged
// (proto/mosaic/v1/node.proto), so every client reads and writes them as before.
//
// Thread-compatible.

#include <google/protobuf/message.h>
#include <grpcpp/support/byte_buffer.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "common/aligned_buffer.h"

namespace mosaic::node {

// Parses `buffer` into `message`, except bytes field `field`, which goes into `payload` (a
// buffer from BufferPool::Global(), which the caller gives back; empty if the field is
// absent) after `headroom` bytes of its own (room for a record header: the field's bytes
// are payload's [headroom, size())). INVALID_ARGUMENT for a malformed message. Consumes
// `buffer`.
absl::Status ParseTakingBytes(grpc::ByteBuffer& buffer, uint32_t field,
                              google::protobuf::Message& message, AlignedBuffer& payload,
                              size_t headroom = 0);

// A serialized GetChunkResponse of data = `record`'s bytes [offset, offset + length),
// chunk_length and chunk_crc32c. Those bytes become the buffer's last slice without a copy;
// `record` goes back to BufferPool::Global() when gRPC drops that slice (after sending it).
grpc::ByteBuffer GetChunkResponseBuffer(AlignedBuffer record, size_t offset, size_t length,
                                        uint64_t chunk_length, uint32_t chunk_crc32c);

}  // namespace mosaic::node
