#pragma once
// Protobuf's wire format by hand, for the few messages whose bytes fields are too big to
// pass through generated classes (shards between gateway and nodes): a field's bytes can be
// sent from, or received into, memory of the caller's choosing instead of a fresh string.
// Everything else about those messages stays with the generated classes.
//
// Thread-compatible.

#include <cstdint>
#include <string>
#include <vector>

#include "common/aligned_buffer.h"
#include "common/bytes.h"

namespace mosaic::proto_wire {

enum WireType : int { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

void AppendVarint(std::string& out, uint64_t v);
// The tag and length of bytes field `field`, whose `length` bytes the caller sends next.
void AppendBytesFieldHeader(std::string& out, uint32_t field, uint64_t length);

// Reads the fields of one message held in several spans (e.g. gRPC's slices), in order. Every
// method returns false on a malformed or truncated message, and then the reader's position
// is unspecified.
class Reader {
 public:
  // The spans must outlive the reader.
  explicit Reader(std::vector<ConstByteSpan> spans);
  // Over slices with begin() (bytes) and size(), e.g. a vector of grpc::Slice.
  template <typename Slices>
  static Reader Of(const Slices& slices) {
    std::vector<ConstByteSpan> spans;
    for (const auto& s : slices) {
      spans.push_back({reinterpret_cast<const std::byte*>(s.begin()), s.size()});
    }
    return Reader(std::move(spans));
  }

  bool AtEnd() const { return left_ == 0; }
  size_t left() const { return left_; }

  bool Tag(uint32_t& field, int& wire_type);
  bool Varint(uint64_t& v);
  // Copies the next `n` bytes to `out`, or skips them when `out` is null.
  bool Copy(std::byte* out, size_t n);
  // Skips a field's value of the given wire type.
  bool Skip(int wire_type);
  // Reads a bytes field's length and value (its tag just read) into a buffer from
  // BufferPool::Global(), after `headroom` bytes left for the caller (out.size() is headroom
  // plus the value's length); what `out` held goes back to the pool first (a repeated field:
  // the last one counts).
  bool ReadBytesInto(AlignedBuffer& out, size_t headroom = 0);
  // Appends the field whose tag was just read (its tag and value, re-encoded) to `out`, so
  // that the fields a caller does not take itself can be parsed by a generated class.
  bool AppendField(uint32_t field, int wire_type, std::string& out);

 private:
  std::vector<ConstByteSpan> spans_;
  size_t index_ = 0;
  size_t offset_ = 0;
  size_t left_ = 0;
};

}  // namespace mosaic::proto_wire
