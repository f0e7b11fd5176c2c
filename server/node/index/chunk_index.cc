#include "server/node/index/chunk_index.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include "common/bytes.h"
#include "common/check.h"
#include "common/status.h"

namespace mosaic::node {
namespace {

// Key prefixes; see docs/formats/segment.md.
constexpr char kChunkPrefix = 'c';    // c tenant \0 id            -> location
constexpr char kReversePrefix = 'r';  // r segment offset (BE)      -> tenant \0 id
constexpr char kUsagePrefix = 'u';    // u tenant                   -> bytes, chunks, format
constexpr char kSegmentPrefix = 's';  // s segment (BE)             -> live bytes
constexpr char kCheckpointKey = 'k';  // k                          -> segment, offset, seq
constexpr char kFindingPrefix = 'f';  // f tenant \0 id             -> (empty)
// The usage value's format: charged bytes (16-byte values without it hold payload bytes).
constexpr uint64_t kUsageCharged = 1;

absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string message = "index " + std::string(what) + ": " + s.ToString();
  if (s.IsIOError()) return absl::UnavailableError(message);
  if (s.IsCorruption()) return absl::DataLossError(message);
  return absl::InternalError(message);
}

std::string TenantKey(char prefix, std::string_view tenant, std::string_view id) {
  std::string key;
  key.reserve(2 + tenant.size() + id.size());
  key.push_back(prefix);
  key.append(tenant);
  key.push_back('\0');
  key.append(id);
  return key;
}

std::string PositionKey(uint64_t segment, uint64_t offset) {
  std::string key(1, kReversePrefix);
  AppendBE64(key, segment);
  AppendBE64(key, offset);
  return key;
}

std::string SegmentKey(uint64_t segment) {
  std::string key(1, kSegmentPrefix);
  AppendBE64(key, segment);
  return key;
}

std::string EncodeU64s(std::initializer_list<uint64_t> values) {
  std::string out(values.size() * 8, '\0');
  size_t i = 0;
  for (uint64_t v : values) StoreLE64(reinterpret_cast<std::byte*>(out.data()) + 8 * i++, v);
  return out;
}

uint64_t U64At(std::string_view v, size_t i) {
  return LoadLE64(reinterpret_cast<const std::byte*>(v.data()) + 8 * i);
}

std::string EncodeLocation(const ChunkLocation& loc) {
  return EncodeU64s({loc.segment, loc.offset, loc.length, loc.crc});
}

absl::StatusOr<ChunkLocation> DecodeLocation(std::string_view v) {
  if (v.size() != 32) return absl::DataLossError("index: malformed chunk location");
  return ChunkLocation{U64At(v, 0), U64At(v, 1), U64At(v, 2), static_cast<uint32_t>(U64At(v, 3))};
}

// Splits "tenant \0 id" (after the prefix byte).
bool SplitTenantKey(std::string_view key, std::string& tenant, std::string& id) {
  size_t zero = key.find('\0', 1);
  if (zero == std::string_view::npos) return false;
  tenant.assign(key.substr(1, zero - 1));
  id.assign(key.substr(zero + 1));
  return true;
}

rocksdb::Slice S(std::string_view s) { return {s.data(), s.size()}; }
std::string_view V(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

}  // namespace

ChunkIndex::Batch::Batch() : batch_(std::make_unique<rocksdb::WriteBatch>()) {}
ChunkIndex::Batch::~Batch() = default;

void ChunkIndex::Batch::PutChunk(std::string_view tenant, std::string_view id,
                                 const ChunkLocation& loc) {
  batch_->Put(S(TenantKey(kChunkPrefix, tenant, id)), S(EncodeLocation(loc)));
  std::string back = TenantKey(kChunkPrefix, tenant, id).substr(1);
  batch_->Put(S(PositionKey(loc.segment, loc.offset)), S(back));
}

void ChunkIndex::Batch::DeleteChunk(std::string_view tenant, std::string_view id,
                                    const ChunkLocation& loc) {
  batch_->Delete(S(TenantKey(kChunkPrefix, tenant, id)));
  batch_->Delete(S(PositionKey(loc.segment, loc.offset)));
}

void ChunkIndex::Batch::MoveChunk(std::string_view tenant, std::string_view id,
                                  const ChunkLocation& from, const ChunkLocation& to) {
  batch_->Delete(S(PositionKey(from.segment, from.offset)));
  PutChunk(tenant, id, to);
}

void ChunkIndex::Batch::SetUsage(std::string_view tenant, const TenantUsage& usage) {
  std::string key(1, kUsagePrefix);
  key.append(tenant);
  batch_->Put(S(key), S(EncodeU64s({usage.bytes, usage.chunks, kUsageCharged})));
}

void ChunkIndex::Batch::SetSegmentLive(uint64_t segment, uint64_t live_bytes) {
  batch_->Put(S(SegmentKey(segment)), S(EncodeU64s({live_bytes})));
}

void ChunkIndex::Batch::DeleteSegment(uint64_t segment) { batch_->Delete(S(SegmentKey(segment))); }

void ChunkIndex::Batch::SetCheckpoint(const Checkpoint& c) {
  batch_->Put(S(std::string(1, kCheckpointKey)),
              S(EncodeU64s({c.segment, c.offset, c.next_sequence})));
}

void ChunkIndex::Batch::PutFinding(std::string_view tenant, std::string_view id) {
  batch_->Put(S(TenantKey(kFindingPrefix, tenant, id)), rocksdb::Slice());
}

void ChunkIndex::Batch::DeleteFinding(std::string_view tenant, std::string_view id) {
  batch_->Delete(S(TenantKey(kFindingPrefix, tenant, id)));
}

size_t ChunkIndex::Batch::count() const { return static_cast<size_t>(batch_->Count()); }

ChunkIndex::ChunkIndex(std::unique_ptr<rocksdb::DB> db) : db_(std::move(db)) {}
ChunkIndex::~ChunkIndex() = default;

absl::StatusOr<std::unique_ptr<ChunkIndex>> ChunkIndex::Open(const std::string& path) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  options.max_open_files = 256;
  options.keep_log_file_num = 4;
  // Small memtables keep flushes (and the free space they need) small; see
  // StoreOptions::index_headroom_bytes.
  options.write_buffer_size = 16 << 20;
  options.max_total_wal_size = 64 << 20;
  rocksdb::DB* raw = nullptr;
  RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(options, path, &raw), "open " + path));
  return std::unique_ptr<ChunkIndex>(new ChunkIndex(std::unique_ptr<rocksdb::DB>(raw)));
}

absl::StatusOr<std::unique_ptr<ChunkIndex>> ChunkIndex::OpenReader(
    const std::string& path, const std::string& scratch_path) {
  rocksdb::Options options;
  options.paranoid_checks = true;
  options.max_open_files = -1;  // as RocksDB requires of a secondary instance
  rocksdb::DB* raw = nullptr;
  RETURN_IF_ERROR(FromRocks(rocksdb::DB::OpenAsSecondary(options, path, scratch_path, &raw),
                            "open " + path + " to read"));
  return std::unique_ptr<ChunkIndex>(new ChunkIndex(std::unique_ptr<rocksdb::DB>(raw)));
}

absl::Status ChunkIndex::Write(Batch& batch, bool sync) {
  rocksdb::WriteOptions options;
  options.sync = sync;
  return FromRocks(db_->Write(options, batch.batch_.get()), "write");
}

absl::StatusOr<std::optional<ChunkLocation>> ChunkIndex::Find(std::string_view tenant,
                                                              std::string_view id) const {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), S(TenantKey(kChunkPrefix, tenant, id)), &value);
  if (s.IsNotFound()) return std::nullopt;
  RETURN_IF_ERROR(FromRocks(s, "get"));
  ASSIGN_OR_RETURN(ChunkLocation loc, DecodeLocation(value));
  return loc;
}

absl::StatusOr<std::vector<ChunkEntry>> ChunkIndex::List(std::string_view tenant,
                                                         std::string_view after,
                                                         size_t limit) const {
  std::string prefix = TenantKey(kChunkPrefix, tenant, "");
  std::string start = after.empty() ? prefix : TenantKey(kChunkPrefix, tenant, after);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  std::vector<ChunkEntry> out;
  for (it->Seek(S(start)); it->Valid() && out.size() < limit; it->Next()) {
    std::string_view key = V(it->key());
    if (!key.starts_with(prefix)) break;
    std::string_view id = key.substr(prefix.size());
    if (!after.empty() && id == after) continue;
    ASSIGN_OR_RETURN(ChunkLocation loc, DecodeLocation(V(it->value())));
    out.push_back({std::string(id), loc});
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "list"));
  return out;
}

absl::StatusOr<std::vector<RecordRef>> ChunkIndex::ScanRecords(uint64_t segment, uint64_t offset,
                                                               size_t limit) const {
  std::string start = PositionKey(segment, offset);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  std::vector<RecordRef> out;
  for (it->Seek(S(start)); it->Valid() && out.size() < limit; it->Next()) {
    std::string_view key = V(it->key());
    if (key.empty() || key[0] != kReversePrefix) break;
    if (key.size() != 17) return absl::DataLossError("index: malformed position key");
    RecordRef ref;
    ref.segment = LoadBE64(key.data() + 1);
    ref.offset = LoadBE64(key.data() + 9);
    std::string back = std::string(1, kChunkPrefix) + std::string(V(it->value()));
    if (!SplitTenantKey(back, ref.tenant, ref.chunk_id)) {
      return absl::DataLossError("index: malformed position value");
    }
    out.push_back(std::move(ref));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "scan"));
  return out;
}

uint64_t ChunkIndex::ApproximateSizeBytes() const {
  uint64_t sst = 0, wal = 0;
  db_->GetIntProperty("rocksdb.total-sst-files-size", &sst);
  db_->GetIntProperty("rocksdb.cur-size-all-mem-tables", &wal);
  return sst + wal;
}

absl::StatusOr<StoredUsage> ChunkIndex::LoadUsage() const {
  StoredUsage out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(S(std::string(1, kUsagePrefix))); it->Valid(); it->Next()) {
    std::string_view key = V(it->key());
    if (key.empty() || key[0] != kUsagePrefix) break;
    std::string_view v = V(it->value());
    std::string tenant(key.substr(1));
    if (v.size() == 16) {
      out.legacy.push_back(tenant);
    } else if (v.size() != 24 || U64At(v, 2) != kUsageCharged) {
      return absl::DataLossError("index: malformed usage");
    }
    out.usage[tenant] = {U64At(v, 0), U64At(v, 1)};
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "load usage"));
  return out;
}

absl::StatusOr<std::map<uint64_t, uint64_t>> ChunkIndex::LoadSegmentLive() const {
  std::map<uint64_t, uint64_t> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(S(std::string(1, kSegmentPrefix))); it->Valid(); it->Next()) {
    std::string_view key = V(it->key());
    if (key.empty() || key[0] != kSegmentPrefix) break;
    std::string_view v = V(it->value());
    if (key.size() != 9 || v.size() != 8) return absl::DataLossError("index: malformed segment");
    out[LoadBE64(key.data() + 1)] = U64At(v, 0);
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "load segments"));
  return out;
}

absl::StatusOr<std::optional<Checkpoint>> ChunkIndex::LoadCheckpoint() const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), S(std::string(1, kCheckpointKey)), &value);
  if (s.IsNotFound()) return std::nullopt;
  RETURN_IF_ERROR(FromRocks(s, "load checkpoint"));
  if (value.size() != 24) return absl::DataLossError("index: malformed checkpoint");
  return Checkpoint{U64At(value, 0), U64At(value, 1), U64At(value, 2)};
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ChunkIndex::LoadFindings() const {
  std::vector<std::pair<std::string, std::string>> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(S(std::string(1, kFindingPrefix))); it->Valid(); it->Next()) {
    std::string_view key = V(it->key());
    if (key.empty() || key[0] != kFindingPrefix) break;
    std::string tenant, id;
    if (!SplitTenantKey(key, tenant, id)) return absl::DataLossError("index: malformed finding");
    out.emplace_back(std::move(tenant), std::move(id));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "load findings"));
  return out;
}

}  // namespace mosaic::node
