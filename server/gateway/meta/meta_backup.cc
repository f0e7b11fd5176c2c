// MetaStore's raw access for the metadata backup and restore (meta_store.h, "Metadata
// backup"): snapshots, the write-ahead log since a sequence, the backup state record. With
// RocksDB through the database itself; with PostgreSQL through transactions (its backups are
// snapshots, and restore writes rows in transactions).
#include <rocksdb/db.h>
#include <rocksdb/transaction_log.h>
#include <rocksdb/utilities/transaction_db.h>
#include <rocksdb/write_batch.h>

#include <optional>
#include <string_view>

#include "common/status.h"
#include "server/gateway/meta/internal/rocks.h"
#include "server/gateway/meta/meta_store.h"
#include "server/gateway/meta/pg_backend.h"
#include "server/gateway/meta/rocks_backend.h"
#include "server/gateway/meta/tables/backup_state.h"

namespace mosaic::gateway {
namespace {

using internal::FromRocks;
using internal::S;
using internal::V;

using meta::backup_state::kKey;

// Whether a write batch touches any key but the backup state's, and whether it carries
// two-phase-commit markers (never in the gateway's own batches). The markers are taken here
// rather than left to the base class: Debian's RocksDB is built with assertions, and
// WriteBatch::Iterate asserts that a marker's handler succeeds (an abort, found by
// fuzz_backup_batch).
class OnlyBackupState : public rocksdb::WriteBatch::Handler {
 public:
  bool only = true;
  bool two_phase = false;
  rocksdb::Status MarkBeginPrepare(bool) override { return Marker(); }
  rocksdb::Status MarkEndPrepare(const rocksdb::Slice&) override { return Marker(); }
  rocksdb::Status MarkRollback(const rocksdb::Slice&) override { return Marker(); }
  rocksdb::Status MarkCommit(const rocksdb::Slice&) override { return Marker(); }
  rocksdb::Status MarkCommitWithTimestamp(const rocksdb::Slice&, const rocksdb::Slice&) override {
    return Marker();
  }
  void Put(const rocksdb::Slice& key, const rocksdb::Slice&) override { See(key); }
  void Delete(const rocksdb::Slice& key) override { See(key); }
  void SingleDelete(const rocksdb::Slice& key) override { See(key); }
  void Merge(const rocksdb::Slice& key, const rocksdb::Slice&) override { See(key); }
  // A transaction's batch starts with a no-op marker (rocks_backend.h): not a write.
  rocksdb::Status MarkNoop(bool) override { return rocksdb::Status::OK(); }
  rocksdb::Status DeleteRangeCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override {
    only = false;
    return rocksdb::Status::OK();
  }

 private:
  rocksdb::Status Marker() {
    two_phase = true;
    return rocksdb::Status::OK();
  }
  void See(const rocksdb::Slice& key) {
    if (V(key) != kKey) only = false;
  }
};

// The varint32 at the start of `in` (removed from it); nullopt when it is malformed.
std::optional<uint32_t> TakeVarint32(std::string_view& in) {
  uint32_t value = 0;
  for (int shift = 0; shift <= 28 && !in.empty(); shift += 7) {
    auto byte = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    value |= uint32_t{byte & 0x7fu} << shift;
    if ((byte & 0x80) == 0) return value;
  }
  return std::nullopt;
}

// Whether every record of a write batch, past its 12-byte header (sequence, count), is of a
// kind the gateway writes (Put, Delete, SingleDelete on the default column family, the
// transactions' Noop marker, LogData) and framed whole. Checked before RocksDB parses the
// batch: Debian's RocksDB is built with assertions, and WriteBatch::Iterate asserts on some
// records (a commit-with-timestamp marker without its timestamp, found by fuzz_backup_batch)
// before any handler sees them: an abort of `mosaic restore`.
bool OnlyGatewayRecords(std::string_view batch) {
  constexpr size_t kHeaderBytes = 12;
  if (batch.size() < kHeaderBytes) return false;
  std::string_view in = batch.substr(kHeaderBytes);
  while (!in.empty()) {
    auto tag = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    int slices = 0;
    switch (tag) {
      case 0x0:  // kTypeDeletion: key
      case 0x7:  // kTypeSingleDeletion: key
      case 0x3:  // kTypeLogData: blob
        slices = 1;
        break;
      case 0x1:  // kTypeValue: key, value
        slices = 2;
        break;
      case 0xD:  // kTypeNoop
        break;
      default:
        return false;
    }
    for (int i = 0; i < slices; ++i) {
      std::optional<uint32_t> length = TakeVarint32(in);
      if (!length || *length > in.size()) return false;
      in.remove_prefix(*length);
    }
  }
  return true;
}

// Restore writes go to the database under the transactions (GetBaseDB): no gateway uses the
// store meanwhile, and a replayed transaction's batch starts with a marker that the row
// locking of TransactionDB::Write does not take.
rocksdb::WriteOptions SyncedWrite() {
  rocksdb::WriteOptions o;
  o.sync = true;
  return o;
}

// A write batch's rows, in order (nullopt: deleted), for a backend that is not RocksDB.
class Rows : public rocksdb::WriteBatch::Handler {
 public:
  std::vector<std::pair<std::string, std::optional<std::string>>> rows;
  void Put(const rocksdb::Slice& key, const rocksdb::Slice& value) override {
    rows.emplace_back(key.ToString(), value.ToString());
  }
  void Delete(const rocksdb::Slice& key) override {
    rows.emplace_back(key.ToString(), std::nullopt);
  }
  void SingleDelete(const rocksdb::Slice& key) override { Delete(key); }
  rocksdb::Status MarkNoop(bool) override { return rocksdb::Status::OK(); }
};

meta::RocksBackend* Rocks(meta::Backend& b) { return dynamic_cast<meta::RocksBackend*>(&b); }

}  // namespace

absl::StatusOr<uint64_t> MetaStore::VisitSnapshot(const RawVisit& visit) const {
  if (Rocks(*backend_) == nullptr) {
    RETURN_IF_ERROR(backend_->Snapshot()->Scan(
        "", "", [&](std::string_view key, std::string_view value) -> absl::StatusOr<bool> {
          RETURN_IF_ERROR(visit(key, value));
          return true;
        }));
    return 0;
  }
  rocksdb::DB& db = Rocks(*backend_)->db();
  const rocksdb::Snapshot* snapshot = db.GetSnapshot();
  uint64_t sequence = snapshot->GetSequenceNumber();
  rocksdb::ReadOptions options;
  options.snapshot = snapshot;
  options.fill_cache = false;
  absl::Status status;
  {
    std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(options));
    for (it->SeekToFirst(); it->Valid() && status.ok(); it->Next()) {
      status = visit(V(it->key()), V(it->value()));
    }
    if (status.ok()) status = FromRocks(it->status(), "snapshot walk");
  }
  db.ReleaseSnapshot(snapshot);
  RETURN_IF_ERROR(status);
  return sequence;
}

absl::StatusOr<uint64_t> MetaStore::VisitUpdatesSince(uint64_t after,
                                                      const BatchVisit& visit) const {
  if (Rocks(*backend_) == nullptr) {
    return absl::FailedPreconditionError("the PostgreSQL metadata's backups are snapshots");
  }
  rocksdb::DB& db = Rocks(*backend_)->db();
  if (db.GetLatestSequenceNumber() <= after) return after;
  std::unique_ptr<rocksdb::TransactionLogIterator> it;
  rocksdb::Status s = db.GetUpdatesSince(after + 1, &it);
  if (s.IsNotFound()) {
    return absl::FailedPreconditionError("metadata log does not reach back to " +
                                         std::to_string(after + 1));
  }
  RETURN_IF_ERROR(FromRocks(s, "log since " + std::to_string(after + 1)));
  uint64_t next = after + 1;  // the first sequence not visited yet
  for (; it->Valid(); it->Next()) {
    rocksdb::BatchResult result = it->GetBatch();
    uint64_t count = result.writeBatchPtr->Count();
    uint64_t end = result.sequence + count;  // one past the batch's last sequence
    if (end <= next)
      continue;  // wholly before `after`: GetUpdatesSince may
                 // start at the batch holding it
    if (result.sequence != next) {
      return absl::FailedPreconditionError("metadata log has a gap before sequence " +
                                           std::to_string(result.sequence));
    }
    OnlyBackupState handler;
    RETURN_IF_ERROR(FromRocks(result.writeBatchPtr->Iterate(&handler), "log batch"));
    RETURN_IF_ERROR(visit(result.sequence, V(result.writeBatchPtr->Data()), handler.only));
    next = end;
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "log read"));
  return next - 1;
}

absl::StatusOr<std::string> MetaStore::Identity() const {
  if (auto* pg = dynamic_cast<meta::PgBackend*>(backend_.get())) return pg->Identity();
  std::string id;
  RETURN_IF_ERROR(FromRocks(Rocks(*backend_)->db().GetDbIdentity(id), "identity"));
  return id;
}

absl::StatusOr<std::optional<v1::BackupState>> MetaStore::GetBackupState() const {
  return meta::backup_state::Get(*backend_->Snapshot());
}

absl::Status MetaStore::PutBackupState(const v1::BackupState& state) {
  return backend_->Run([&](meta::Transaction& t) { return meta::backup_state::Put(t, state); });
}

absl::StatusOr<bool> MetaStore::Empty() const {
  bool empty = true;
  RETURN_IF_ERROR(backend_->Snapshot()->Scan(
      "", "", [&](std::string_view, std::string_view) -> absl::StatusOr<bool> {
        empty = false;
        return false;
      }));
  return empty;
}

absl::Status MetaStore::PutRaw(const std::vector<std::pair<std::string, std::string>>& pairs) {
  if (Rocks(*backend_) == nullptr) {
    // Each Put takes an advisory lock held to the commit, and the server's lock table
    // (max_locks_per_transaction, 64 by default, times its connections) is shared.
    constexpr size_t kRows = 500;
    for (size_t begin = 0; begin < pairs.size(); begin += kRows) {
      RETURN_IF_ERROR(backend_->Run([&](meta::Transaction& t) -> absl::Status {
        for (size_t i = begin; i < pairs.size() && i < begin + kRows; ++i) {
          RETURN_IF_ERROR(t.Put(pairs[i].first, pairs[i].second));
        }
        return absl::OkStatus();
      }));
    }
    return absl::OkStatus();
  }
  rocksdb::WriteBatch batch;
  for (const auto& [key, value] : pairs) {
    RETURN_IF_ERROR(FromRocks(batch.Put(S(key), S(value)), "restore batch"));
  }
  return FromRocks(Rocks(*backend_)->db().GetBaseDB()->Write(SyncedWrite(), &batch),
                   "restore write");
}

absl::Status MetaStore::ApplyBatch(std::string_view bytes) {
  if (!OnlyGatewayRecords(bytes)) {
    return absl::DataLossError("restore: a write batch with records the gateway never writes");
  }
  rocksdb::WriteBatch batch{std::string(bytes)};
  // Iterating first checks the batch's own framing before anything is written.
  OnlyBackupState check;
  rocksdb::Status parsed = batch.Iterate(&check);
  if (!parsed.ok())
    return absl::DataLossError("restore: malformed write batch: " + parsed.ToString());
  if (check.two_phase) {
    return absl::DataLossError("restore: a write batch with two-phase-commit markers");
  }
  if (Rocks(*backend_) == nullptr) {
    Rows rows;
    RETURN_IF_ERROR(FromRocks(batch.Iterate(&rows), "restore replay"));
    return backend_->Run([&](meta::Transaction& t) -> absl::Status {
      for (const auto& [key, value] : rows.rows) {
        RETURN_IF_ERROR(value ? t.Put(key, *value) : t.Delete(key));
      }
      return absl::OkStatus();
    });
  }
  return FromRocks(Rocks(*backend_)->db().GetBaseDB()->Write(SyncedWrite(), &batch),
                   "restore replay");
}

}  // namespace mosaic::gateway
