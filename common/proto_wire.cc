#include "common/proto_wire.h"

#include <algorithm>
#include <cstring>

#include "common/buffer_pool.h"

namespace mosaic::proto_wire {

void AppendVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void AppendBytesFieldHeader(std::string& out, uint32_t field, uint64_t length) {
  AppendVarint(out, (uint64_t{field} << 3) | kLengthDelimited);
  AppendVarint(out, length);
}

Reader::Reader(std::vector<ConstByteSpan> spans) : spans_(std::move(spans)) {
  for (const ConstByteSpan& s : spans_) left_ += s.size();
}

bool Reader::Tag(uint32_t& field, int& wire_type) {
  uint64_t tag = 0;
  if (!Varint(tag) || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff) return false;
  field = static_cast<uint32_t>(tag >> 3);
  wire_type = static_cast<int>(tag & 7);
  return true;
}

bool Reader::Varint(uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    std::byte b;
    if (!Copy(&b, 1)) return false;
    v |= uint64_t(std::to_integer<uint8_t>(b) & 0x7f) << shift;
    if ((std::to_integer<uint8_t>(b) & 0x80) == 0) return true;
  }
  return false;
}

bool Reader::Copy(std::byte* out, size_t n) {
  if (n > left_) return false;
  left_ -= n;
  while (n > 0) {
    const ConstByteSpan& s = spans_[index_];
    size_t take = std::min(n, s.size() - offset_);
    if (out != nullptr) {
      std::memcpy(out, s.data() + offset_, take);
      out += take;
    }
    n -= take;
    offset_ += take;
    if (offset_ == s.size()) {
      ++index_;
      offset_ = 0;
    }
  }
  return true;
}

bool Reader::Skip(int wire_type) {
  uint64_t v = 0;
  switch (wire_type) {
    case kVarint:
      return Varint(v);
    case kFixed64:
      return Copy(nullptr, 8);
    case kLengthDelimited:
      return Varint(v) && Copy(nullptr, v);
    case kFixed32:
      return Copy(nullptr, 4);
  }
  return false;
}

bool Reader::ReadBytesInto(AlignedBuffer& out, size_t headroom) {
  uint64_t n = 0;
  if (!Varint(n) || n > left_) return false;
  BufferPool::Global().Give(std::move(out));
  out = BufferPool::Global().Take(headroom + n);
  return Copy(out.data() + headroom, n);
}

bool Reader::AppendField(uint32_t field, int wire_type, std::string& out) {
  AppendVarint(out, (uint64_t{field} << 3) | static_cast<uint64_t>(wire_type));
  uint64_t v = 0;
  size_t fixed = wire_type == kFixed64 ? 8 : wire_type == kFixed32 ? 4 : 0;
  if (wire_type == kVarint || wire_type == kLengthDelimited) {
    if (!Varint(v)) return false;
    AppendVarint(out, v);
    if (wire_type == kVarint) return true;
    if (v > left_) return false;
    fixed = v;
  } else if (fixed == 0) {
    return false;  // groups and unknown wire types
  }
  size_t at = out.size();
  out.resize(at + fixed);
  return Copy(reinterpret_cast<std::byte*>(out.data() + at), fixed);
}

}  // namespace mosaic::proto_wire
