#pragma once
// The chunk record: the unit written to a segment file. docs/formats/segment.md is the
// normative description; this header and that document must agree.
//
//   offset size  field
//        0    4  magic "MSCR" (0x5243534d little-endian)
//        4    2  format version (1)
//        6    2  kind (1 = chunk)
//        8    4  header CRC32C: over bytes [0, 256) with this field read as zero
//       12    4  payload CRC32C
//       16    8  payload length
//       24    8  sequence number (increases with every record the node writes)
//       32    1  chunk id length (1..64)
//       33    1  tenant name length (1..64)
//       34    6  zero
//       40   64  chunk id, zero padded
//      104   64  tenant name, zero padded
//      168   88  zero
//      256    …  payload, then zeros up to the next multiple of 4096
//
// All integers little-endian. A record starts at a multiple of 4096 in its segment.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/bytes.h"

namespace mosaic::node {

inline constexpr uint32_t kRecordMagic = 0x5243534d;  // "MSCR"
inline constexpr uint16_t kRecordVersion = 1;
inline constexpr uint16_t kRecordKindChunk = 1;
inline constexpr size_t kRecordHeaderSize = 256;
inline constexpr size_t kMaxChunkIdSize = 64;
inline constexpr size_t kMaxTenantSize = 64;
// Hard ceiling on a payload, whatever the configured maximum chunk size.
inline constexpr uint64_t kMaxRecordPayload = uint64_t{64} << 20;

struct RecordHeader {
  uint32_t payload_crc = 0;
  uint64_t payload_length = 0;
  uint64_t sequence = 0;
  std::string chunk_id;
  std::string tenant;
};

// Bytes the record occupies on disk: header + payload rounded up to 4096.
uint64_t RecordSize(uint64_t payload_length);

// What one chunk is assumed to cost the index, in bytes. A chunk has two RocksDB entries:
// the forward one (key: prefix, tenant and id, up to 130 bytes; value: 28 bytes of location)
// and the reverse one by position (key 17 bytes, value up to 130), about 300 bytes with
// RocksDB's per-entry overhead. That is written twice before it settles (write-ahead log and
// memtable flush, then SST files that compaction rewrites), so 1 KiB bounds what a chunk
// holds of the index on average.
inline constexpr uint64_t kIndexBytesPerChunk = 1024;

// Bytes a chunk is charged against its tenant's quota and usage: its record on disk plus
// kIndexBytesPerChunk, so that many tiny chunks cost what they really take.
uint64_t ChargedSize(uint64_t payload_length);

// Writes the 256-byte header for `h` into `out` (which must hold kRecordHeaderSize bytes).
// Preconditions: chunk id and tenant 1..64 bytes, payload_length <= kMaxRecordPayload.
void EncodeRecordHeader(const RecordHeader& h, std::byte* out);

// Parses a header read from disk, which may be anything: zeros past the end of the data,
// a torn write, or hostile bytes. INVALID_ARGUMENT if the magic is absent (no record here),
// DATA_LOSS if it looks like a record but fails its checks (bad CRC, version, lengths);
// FAILED_PRECONDITION, naming both versions, for an intact record of a newer format version.
[[nodiscard]] absl::StatusOr<RecordHeader> ParseRecordHeader(ConstByteSpan header);

}  // namespace mosaic::node
