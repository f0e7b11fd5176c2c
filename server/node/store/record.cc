#include "server/node/store/record.h"

#include <cstring>
#include <string>

#include "common/aligned_buffer.h"
#include "common/check.h"
#include "common/crc32c.h"

namespace mosaic::node {
namespace {

constexpr size_t kCrcOffset = 8;
constexpr size_t kIdOffset = 40;
constexpr size_t kTenantOffset = 104;

uint32_t HeaderCrc(const std::byte* h) {
  uint32_t crc = Crc32c({h, kCrcOffset});
  const std::byte zeros[4] = {};
  crc = Crc32cExtend(crc, {zeros, 4});
  return Crc32cExtend(crc, {h + kCrcOffset + 4, kRecordHeaderSize - kCrcOffset - 4});
}

}  // namespace

uint64_t RecordSize(uint64_t payload_length) { return AlignUp(kRecordHeaderSize + payload_length); }

uint64_t ChargedSize(uint64_t payload_length) {
  return RecordSize(payload_length) + kIndexBytesPerChunk;
}

void EncodeRecordHeader(const RecordHeader& h, std::byte* out) {
  CHECK(!h.chunk_id.empty() && h.chunk_id.size() <= kMaxChunkIdSize);
  CHECK(!h.tenant.empty() && h.tenant.size() <= kMaxTenantSize);
  CHECK(h.payload_length <= kMaxRecordPayload);
  std::memset(out, 0, kRecordHeaderSize);
  StoreLE32(out, kRecordMagic);
  StoreLE16(out + 4, kRecordVersion);
  StoreLE16(out + 6, kRecordKindChunk);
  StoreLE32(out + 12, h.payload_crc);
  StoreLE64(out + 16, h.payload_length);
  StoreLE64(out + 24, h.sequence);
  out[32] = std::byte(h.chunk_id.size());
  out[33] = std::byte(h.tenant.size());
  std::memcpy(out + kIdOffset, h.chunk_id.data(), h.chunk_id.size());
  std::memcpy(out + kTenantOffset, h.tenant.data(), h.tenant.size());
  StoreLE32(out + kCrcOffset, HeaderCrc(out));
}

absl::StatusOr<RecordHeader> ParseRecordHeader(ConstByteSpan header) {
  if (header.size() < kRecordHeaderSize) return absl::InvalidArgumentError("short header");
  const std::byte* p = header.data();
  if (LoadLE32(p) != kRecordMagic) return absl::InvalidArgumentError("no record magic");
  if (LoadLE32(p + kCrcOffset) != HeaderCrc(p)) {
    return absl::DataLossError("record header fails its CRC32C");
  }
  // A record of a newer format, intact (its CRC holds), was written by a newer mosaic: it
  // must be refused, not taken for damage (recovery would cut the segment there).
  if (uint16_t version = LoadLE16(p + 4); version > kRecordVersion) {
    return absl::FailedPreconditionError(
        "chunk record of format version " + std::to_string(version) +
        ": this mosaic reads version " + std::to_string(kRecordVersion) +
        " (a newer mosaic wrote it: install that one again; docs/upgrading.md)");
  }
  if (LoadLE16(p + 4) != kRecordVersion || LoadLE16(p + 6) != kRecordKindChunk) {
    return absl::DataLossError("unknown record version or kind");
  }
  RecordHeader h;
  h.payload_crc = LoadLE32(p + 12);
  h.payload_length = LoadLE64(p + 16);
  h.sequence = LoadLE64(p + 24);
  size_t id_len = size_t(p[32]);
  size_t tenant_len = size_t(p[33]);
  if (id_len == 0 || id_len > kMaxChunkIdSize || tenant_len == 0 || tenant_len > kMaxTenantSize ||
      h.payload_length > kMaxRecordPayload) {
    return absl::DataLossError("record header has impossible lengths");
  }
  h.chunk_id.assign(reinterpret_cast<const char*>(p + kIdOffset), id_len);
  h.tenant.assign(reinterpret_cast<const char*>(p + kTenantOffset), tenant_len);
  return h;
}

}  // namespace mosaic::node
