#include "server/gateway/backup/stream.h"

#include <limits>

#include "common/bytes.h"
#include "common/status.h"

namespace mosaic::gateway {
namespace {

constexpr std::string_view kMagic = "MOSAICB1";
constexpr char kPairTag = 'K';
constexpr char kBatchTag = 'W';
constexpr char kEndTag = 'E';

void PutLE32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutLE64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

absl::Status Corrupt(const std::string& what) {
  return absl::DataLossError("metadata backup stream: " + what);
}

// Reads fields off the front of a stream; every read checks the length left.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool empty() const { return s_.empty(); }
  bool Byte(char& c) {
    if (s_.empty()) return false;
    c = s_[0];
    s_.remove_prefix(1);
    return true;
  }
  bool LE32(uint32_t& v) {
    if (s_.size() < 4) return false;
    v = LoadLE32(reinterpret_cast<const std::byte*>(s_.data()));
    s_.remove_prefix(4);
    return true;
  }
  bool LE64(uint64_t& v) {
    if (s_.size() < 8) return false;
    v = LoadLE64(reinterpret_cast<const std::byte*>(s_.data()));
    s_.remove_prefix(8);
    return true;
  }
  bool Bytes(size_t n, std::string_view& out) {
    if (s_.size() < n) return false;
    out = s_.substr(0, n);
    s_.remove_prefix(n);
    return true;
  }
  bool Sized(std::string_view& out) {
    uint32_t n = 0;
    return LE32(n) && Bytes(n, out);
  }

 private:
  std::string_view s_;
};

}  // namespace

BackupStreamEncoder::BackupStreamEncoder(BackupKind kind, Sink sink, size_t flush_bytes)
    : kind_(kind), sink_(std::move(sink)), flush_bytes_(flush_bytes) {
  buffer_.append(kMagic);
  buffer_.push_back(static_cast<char>(kind));
}

absl::Status BackupStreamEncoder::Flush(bool force) {
  if (!error_.ok()) return error_;
  if (buffer_.empty() || (!force && buffer_.size() < flush_bytes_)) return absl::OkStatus();
  error_ = sink_(buffer_);
  bytes_ += buffer_.size();
  buffer_.clear();
  return error_;
}

absl::Status BackupStreamEncoder::AddPair(std::string_view key, std::string_view value) {
  if (kind_ != BackupKind::kSnapshot) return absl::InternalError("a pair in an increment");
  if (key.size() > std::numeric_limits<uint32_t>::max() ||
      value.size() > std::numeric_limits<uint32_t>::max()) {
    return absl::InternalError("metadata record over 4 GiB");
  }
  buffer_.push_back(kPairTag);
  PutLE32(buffer_, static_cast<uint32_t>(key.size()));
  buffer_.append(key);
  PutLE32(buffer_, static_cast<uint32_t>(value.size()));
  buffer_.append(value);
  ++entries_;
  return Flush(false);
}

absl::Status BackupStreamEncoder::AddBatch(uint64_t first_sequence, std::string_view batch) {
  if (kind_ != BackupKind::kIncrement) return absl::InternalError("a batch in a snapshot");
  if (batch.size() > std::numeric_limits<uint32_t>::max()) {
    return absl::InternalError("metadata write batch over 4 GiB");
  }
  buffer_.push_back(kBatchTag);
  PutLE64(buffer_, first_sequence);
  PutLE32(buffer_, static_cast<uint32_t>(batch.size()));
  buffer_.append(batch);
  ++entries_;
  return Flush(false);
}

absl::Status BackupStreamEncoder::Finish() {
  if (!error_.ok()) return error_;
  buffer_.push_back(kEndTag);
  PutLE64(buffer_, entries_);
  return Flush(true);
}

absl::StatusOr<BackupStreamHeader> DecodeBackupStream(std::string_view stream,
                                                      const BackupStreamVisitor& visit) {
  Cursor in(stream);
  std::string_view magic;
  char kind = 0;
  BackupStreamHeader header;
  if (!in.Bytes(kMagic.size(), magic) || magic != kMagic) return Corrupt("bad magic");
  if (!in.Byte(kind) || (kind != static_cast<char>(BackupKind::kSnapshot) &&
                         kind != static_cast<char>(BackupKind::kIncrement))) {
    return Corrupt("unknown kind");
  }
  header.kind = static_cast<BackupKind>(kind);
  while (true) {
    char tag = 0;
    if (!in.Byte(tag)) return Corrupt("truncated: no trailer");
    if (tag == kEndTag) {
      uint64_t count = 0;
      if (!in.LE64(count)) return Corrupt("truncated trailer");
      if (count != header.entries) return Corrupt("entry count does not match");
      if (!in.empty()) return Corrupt("bytes after the trailer");
      return header;
    }
    if (tag == kPairTag && header.kind == BackupKind::kSnapshot) {
      std::string_view key, value;
      if (!in.Sized(key) || !in.Sized(value)) return Corrupt("truncated pair");
      if (visit.pair) RETURN_IF_ERROR(visit.pair(key, value));
    } else if (tag == kBatchTag && header.kind == BackupKind::kIncrement) {
      uint64_t sequence = 0;
      std::string_view batch;
      if (!in.LE64(sequence) || !in.Sized(batch)) return Corrupt("truncated batch");
      if (visit.batch) RETURN_IF_ERROR(visit.batch(sequence, batch));
    } else {
      return Corrupt("unexpected entry");
    }
    ++header.entries;
  }
}

}  // namespace mosaic::gateway
