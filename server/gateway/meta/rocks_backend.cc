#include "server/gateway/meta/rocks_backend.h"

#include <rocksdb/utilities/transaction.h>
#include <rocksdb/utilities/transaction_db.h>

#include "common/format_file.h"
#include "common/status.h"
#include "server/gateway/meta/internal/rocks.h"

namespace mosaic::gateway::meta {
namespace {

using internal::FromRocks;
using internal::S;
using internal::V;

// Lost lock waits and deadlocks are ABORTED: the transaction is retried.
absl::Status FromTxn(const rocksdb::Status& s, const std::string& what) {
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) {
    return absl::AbortedError("metadata " + what + ": " + s.ToString());
  }
  return FromRocks(s, what);
}

absl::Status ScanIterator(rocksdb::Iterator& it, std::string_view prefix, std::string_view from,
                          const Transaction::ScanVisit& visit) {
  for (it.Seek(S(std::max(prefix, from))); it.Valid(); it.Next()) {
    std::string_view key = V(it.key());
    if (!key.starts_with(prefix)) break;
    ASSIGN_OR_RETURN(bool more, visit(key, V(it.value())));
    if (!more) break;
  }
  return FromRocks(it.status(), "scan");
}

class RocksTransaction final : public Transaction {
 public:
  explicit RocksTransaction(rocksdb::TransactionDB& db) {
    rocksdb::WriteOptions w;
    w.sync = true;
    rocksdb::TransactionOptions o;
    o.deadlock_detect = true;
    txn_.reset(db.BeginTransaction(w, o));
  }
  ~RocksTransaction() override {
    if (!done_) txn_->Rollback().PermitUncheckedError();
  }

  absl::StatusOr<std::optional<std::string>> Get(std::string_view key) override {
    std::string value;
    rocksdb::Status s = txn_->Get(rocksdb::ReadOptions(), S(key), &value);
    if (s.IsNotFound()) return std::nullopt;
    RETURN_IF_ERROR(FromTxn(s, "get"));
    return value;
  }
  absl::StatusOr<std::optional<std::string>> GetForUpdate(std::string_view key,
                                                          Lock lock) override {
    std::string value;
    rocksdb::Status s = txn_->GetForUpdate(rocksdb::ReadOptions(), S(key), &value,
                                           /*exclusive=*/lock == Lock::kExclusive);
    if (s.IsNotFound()) return std::nullopt;
    RETURN_IF_ERROR(FromTxn(s, "lock"));
    return value;
  }
  absl::Status Put(std::string_view key, std::string_view value) override {
    return FromTxn(txn_->Put(S(key), S(value)), "put");
  }
  absl::Status Delete(std::string_view key) override {
    return FromTxn(txn_->Delete(S(key)), "delete");
  }
  absl::Status Scan(std::string_view prefix, std::string_view from,
                    const ScanVisit& visit) override {
    std::unique_ptr<rocksdb::Iterator> it(txn_->GetIterator(rocksdb::ReadOptions()));
    return ScanIterator(*it, prefix, from, visit);
  }
  absl::Status Commit() override {
    done_ = true;
    if (txn_->GetNumPuts() + txn_->GetNumDeletes() == 0) {
      return FromTxn(txn_->Rollback(), "rollback");
    }
    return FromTxn(txn_->Commit(), "commit");
  }

 private:
  std::unique_ptr<rocksdb::Transaction> txn_;
  bool done_ = false;
};

// Reads at one snapshot, without locks.
class RocksSnapshot final : public Transaction {
 public:
  explicit RocksSnapshot(rocksdb::DB& db) : db_(db), snapshot_(&db) {
    options_.snapshot = snapshot_.snapshot();
  }

  absl::StatusOr<std::optional<std::string>> Get(std::string_view key) override {
    std::string value;
    rocksdb::Status s = db_.Get(options_, S(key), &value);
    if (s.IsNotFound()) return std::nullopt;
    RETURN_IF_ERROR(FromRocks(s, "get"));
    return value;
  }
  absl::StatusOr<std::optional<std::string>> GetForUpdate(std::string_view key, Lock) override {
    return Get(key);
  }
  absl::Status Put(std::string_view, std::string_view) override { return ReadOnly(); }
  absl::Status Delete(std::string_view) override { return ReadOnly(); }
  absl::Status Scan(std::string_view prefix, std::string_view from,
                    const ScanVisit& visit) override {
    std::unique_ptr<rocksdb::Iterator> it(db_.NewIterator(options_));
    return ScanIterator(*it, prefix, from, visit);
  }
  absl::Status Commit() override { return absl::OkStatus(); }

 private:
  static absl::Status ReadOnly() {
    return absl::InternalError("metadata: a write in a read-only snapshot");
  }
  rocksdb::DB& db_;
  rocksdb::ManagedSnapshot snapshot_;
  rocksdb::ReadOptions options_;
};

}  // namespace

RocksBackend::RocksBackend(std::unique_ptr<rocksdb::TransactionDB> db) : db_(std::move(db)) {}
RocksBackend::~RocksBackend() = default;

absl::StatusOr<std::unique_ptr<RocksBackend>> RocksBackend::Open(const std::string& dir) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  options.keep_log_file_num = 4;
  // The metadata backup's increments are read back from the WAL (GetUpdatesSince): keep
  // archived logs for a day or 1 GiB, far beyond the backup lag. When they are gone anyway
  // the backup takes a new snapshot.
  options.WAL_ttl_seconds = 24 * 3600;
  options.WAL_size_limit_MB = 1024;
  // Commits from many threads join one write group (one WAL write, one fsync).
  options.enable_pipelined_write = false;
  rocksdb::TransactionDBOptions txn_options;
  // A lock wait longer than this is given up (ABORTED, retried by Run): a synced commit
  // holding the lock takes milliseconds, a slow disk maybe a second.
  txn_options.transaction_lock_timeout = 2000;
  txn_options.default_lock_timeout = 2000;
  // The keys have no version of their own: meta/FORMAT carries it (docs/upgrading.md).
  RETURN_IF_ERROR(CheckFormatFile(dir, "gateway metadata", 1));
  rocksdb::TransactionDB* raw = nullptr;
  RETURN_IF_ERROR(
      FromRocks(rocksdb::TransactionDB::Open(options, txn_options, dir, &raw), "open " + dir));
  return std::unique_ptr<RocksBackend>(
      new RocksBackend(std::unique_ptr<rocksdb::TransactionDB>(raw)));
}

std::unique_ptr<Transaction> RocksBackend::Begin() {
  return std::make_unique<RocksTransaction>(*db_);
}

std::unique_ptr<Transaction> RocksBackend::Snapshot() {
  return std::make_unique<RocksSnapshot>(*db_);
}

}  // namespace mosaic::gateway::meta
