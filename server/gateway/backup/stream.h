#pragma once
// The serialised form of a metadata backup object (docs/architecture.md, "Metadata backup").
// The pipeline encrypts and erasure-codes it like any object; this format only has to be
// unambiguous and to fail loudly on bytes it did not write.
//
//   header:   "MOSAICB1" ‖ kind (1 byte: 'S' snapshot, 'I' increment)
//   entries:  'K' ‖ LE32 key length ‖ key ‖ LE32 value length ‖ value     (snapshot)
//             'W' ‖ LE64 first sequence ‖ LE32 length ‖ RocksDB write batch  (increment)
//   trailer:  'E' ‖ LE64 number of entries
//
// Nothing may follow the trailer. Entries of the other kind are invalid. The sequence
// numbers a snapshot or an increment covers are in the root record (BackupObject).

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace mosaic::gateway {

enum class BackupKind : char { kSnapshot = 'S', kIncrement = 'I' };

// Builds a stream and hands it to `sink` in pieces of about `flush_bytes` (the last at
// Finish). A sink error stops the encoder: every later call returns it. Not thread-safe.
class BackupStreamEncoder {
 public:
  using Sink = std::function<absl::Status(std::string_view)>;
  BackupStreamEncoder(BackupKind kind, Sink sink, size_t flush_bytes = size_t{1} << 20);

  // Snapshot streams only (INTERNAL otherwise).
  [[nodiscard]] absl::Status AddPair(std::string_view key, std::string_view value);
  // Increment streams only (INTERNAL otherwise).
  [[nodiscard]] absl::Status AddBatch(uint64_t first_sequence, std::string_view batch);
  // Writes the trailer and flushes. No Add* after it.
  [[nodiscard]] absl::Status Finish();

  uint64_t entries() const { return entries_; }
  uint64_t bytes() const { return bytes_; }  // handed to the sink so far

 private:
  absl::Status Flush(bool force);

  BackupKind kind_;
  Sink sink_;
  size_t flush_bytes_;
  std::string buffer_;
  uint64_t entries_ = 0;
  uint64_t bytes_ = 0;
  absl::Status error_;
};

// What DecodeBackupStream calls for each entry; the views live only during the call. An
// error from a visitor stops decoding and is returned.
struct BackupStreamVisitor {
  std::function<absl::Status(std::string_view key, std::string_view value)> pair;
  std::function<absl::Status(uint64_t first_sequence, std::string_view batch)> batch;
};

struct BackupStreamHeader {
  BackupKind kind = BackupKind::kSnapshot;
  uint64_t entries = 0;
};

// Decodes a whole stream, calling `visit` for each entry in order. DATA_LOSS for anything
// that is not such a stream (bad magic or kind, truncated, entry count wrong, bytes after
// the trailer, an entry of the wrong kind).
[[nodiscard]] absl::StatusOr<BackupStreamHeader> DecodeBackupStream(
    std::string_view stream, const BackupStreamVisitor& visit);

}  // namespace mosaic::gateway
