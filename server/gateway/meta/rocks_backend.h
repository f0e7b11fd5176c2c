#pragma once
// The metadata backend in RocksDB (txn.h): a TransactionDB with pessimistic row locks.
// GetForUpdate takes a row lock (shared or exclusive) held to the end of the transaction;
// waits time out after a few seconds and deadlocks are detected, both as ABORTED (Backend::Run
// retries). Commits are synced; RocksDB's write group makes concurrent commits share one WAL
// write and fsync. Rows are the keys of the store's one column family, so a data folder
// written before transactions opens unchanged.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/gateway/meta/txn.h"

namespace rocksdb {
class TransactionDB;
}

namespace mosaic::gateway::meta {

class RocksBackend final : public Backend {
 public:
  // Opens (creating if missing) the database in `dir`.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<RocksBackend>> Open(const std::string& dir);
  ~RocksBackend() override;

  std::unique_ptr<Transaction> Begin() override;
  std::unique_ptr<Transaction> Snapshot() override;

  // The database itself, for the metadata backup's raw access (meta_backup.cc).
  rocksdb::TransactionDB& db() { return *db_; }

 private:
  explicit RocksBackend(std::unique_ptr<rocksdb::TransactionDB> db);
  std::unique_ptr<rocksdb::TransactionDB> db_;
};

}  // namespace mosaic::gateway::meta
