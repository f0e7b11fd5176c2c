// MetaStore's raw access for the metadata backup and restore (meta_store.h, "Metadata
// backup"): snapshots, the write-ahead log since a sequence, the backup state record.
#include <rocksdb/db.h>
#include <rocksdb/transaction_log.h>
#include <rocksdb/write_batch.h>

#include "common/status.h"
#include "server/gateway/meta/internal/rocks.h"
#include "server/gateway/meta/meta_store.h"

namespace mosaic::gateway {
namespace {

using internal::FromRocks;
using internal::S;
using internal::V;

constexpr std::string_view kBackupStateKey = "B";

// Whether a write batch touches any key but the backup state's.
class OnlyBackupState : public rocksdb::WriteBatch::Handler {
 public:
  bool only = true;
  void Put(const rocksdb::Slice& key, const rocksdb::Slice&) override { See(key); }
  void Delete(const rocksdb::Slice& key) override { See(key); }
  void SingleDelete(const rocksdb::Slice& key) override { See(key); }
  void Merge(const rocksdb::Slice& key, const rocksdb::Slice&) override { See(key); }
  rocksdb::Status DeleteRangeCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override {
    only = false;
    return rocksdb::Status::OK();
  }

 private:
  void See(const rocksdb::Slice& key) {
    if (V(key) != kBackupStateKey) only = false;
  }
};

rocksdb::WriteOptions SyncedWrite() {
  rocksdb::WriteOptions o;
  o.sync = true;
  return o;
}

}  // namespace

absl::StatusOr<uint64_t> MetaStore::VisitSnapshot(const RawVisit& visit) const {
  const rocksdb::Snapshot* snapshot = db_->GetSnapshot();
  uint64_t sequence = snapshot->GetSequenceNumber();
  rocksdb::ReadOptions options;
  options.snapshot = snapshot;
  options.fill_cache = false;
  absl::Status status;
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options));
    for (it->SeekToFirst(); it->Valid() && status.ok(); it->Next()) {
      status = visit(V(it->key()), V(it->value()));
    }
    if (status.ok()) status = FromRocks(it->status(), "snapshot walk");
  }
  db_->ReleaseSnapshot(snapshot);
  RETURN_IF_ERROR(status);
  return sequence;
}

absl::StatusOr<uint64_t> MetaStore::VisitUpdatesSince(uint64_t after,
                                                      const BatchVisit& visit) const {
  if (db_->GetLatestSequenceNumber() <= after) return after;
  std::unique_ptr<rocksdb::TransactionLogIterator> it;
  rocksdb::Status s = db_->GetUpdatesSince(after + 1, &it);
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
    if (end <= next) continue;               // wholly before `after`: GetUpdatesSince may
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
  std::string id;
  RETURN_IF_ERROR(FromRocks(db_->GetDbIdentity(id), "identity"));
  return id;
}

absl::StatusOr<std::optional<v1::BackupState>> MetaStore::GetBackupState() const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), S(kBackupStateKey), &value);
  if (s.IsNotFound()) return std::nullopt;
  RETURN_IF_ERROR(FromRocks(s, "get backup state"));
  v1::BackupState state;
  if (!state.ParseFromString(value)) {
    return absl::DataLossError("metadata: malformed backup state record");
  }
  return state;
}

absl::Status MetaStore::PutBackupState(const v1::BackupState& state) {
  return FromRocks(db_->Put(SyncedWrite(), S(kBackupStateKey), state.SerializeAsString()),
                   "put backup state");
}

absl::Status MetaStore::PutRaw(const std::vector<std::pair<std::string, std::string>>& pairs) {
  rocksdb::WriteBatch batch;
  for (const auto& [key, value] : pairs) {
    RETURN_IF_ERROR(FromRocks(batch.Put(S(key), S(value)), "restore batch"));
  }
  return FromRocks(db_->Write(SyncedWrite(), &batch), "restore write");
}

absl::Status MetaStore::ApplyBatch(std::string_view bytes) {
  rocksdb::WriteBatch batch{std::string(bytes)};
  // Iterating first checks the batch's own framing before anything is written.
  OnlyBackupState check;
  rocksdb::Status parsed = batch.Iterate(&check);
  if (!parsed.ok()) return absl::DataLossError("restore: malformed write batch: " + parsed.ToString());
  return FromRocks(db_->Write(SyncedWrite(), &batch), "restore replay");
}

}  // namespace mosaic::gateway
