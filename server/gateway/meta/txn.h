#pragma once
// The metadata's storage interface: one transaction type over ordered rows (a key of bytes,
// a value of bytes), which the tables (meta/tables/*.h) type, and a backend that begins
// transactions. RocksDB implements it today (rocks_backend.h); another database (issue 17:
// PostgreSQL) implements the same surfaces.
//
// Isolation: a plain Get or Scan reads the latest committed rows (and this transaction's own
// writes). GetForUpdate locks the row (existing or not) until Commit or the transaction's
// end, then reads it: a row read that way cannot change under the transaction. Writes lock
// their rows too. Concurrent transactions on different rows do not wait for each other, and
// their commits share one synced log write when they meet (group commit).
//
// Errors: ABORTED when the transaction lost a lock wait or a deadlock (Run retries it);
// UNAVAILABLE for I/O errors; DATA_LOSS for corruption; INTERNAL otherwise.
// A Transaction is used by one thread at a time; a Backend by any number.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mosaic::gateway::meta {

class Transaction {
 public:
  virtual ~Transaction() = default;

  [[nodiscard]] virtual absl::StatusOr<std::optional<std::string>> Get(std::string_view key) = 0;
  // Shared locks let several transactions hold one row (a bucket that objects are written
  // into); an exclusive lock waits for them all (deleting that bucket).
  enum class Lock { kShared, kExclusive };
  [[nodiscard]] virtual absl::StatusOr<std::optional<std::string>> GetForUpdate(
      std::string_view key, Lock lock = Lock::kExclusive) = 0;
  [[nodiscard]] virtual absl::Status Put(std::string_view key, std::string_view value) = 0;
  [[nodiscard]] virtual absl::Status Delete(std::string_view key) = 0;
  // Visits the rows whose key starts with `prefix` and is >= `from`, in byte order of key,
  // until `visit` returns false or an error (returned). Rows are not locked.
  using ScanVisit =
      std::function<absl::StatusOr<bool>(std::string_view key, std::string_view value)>;
  [[nodiscard]] virtual absl::Status Scan(std::string_view prefix, std::string_view from,
                                          const ScanVisit& visit) = 0;
  // Makes every write durable (synced) at once, or none; releases the locks. A transaction
  // without writes commits nothing.
  [[nodiscard]] virtual absl::Status Commit() = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // A new transaction. Dropping it without Commit rolls it back.
  [[nodiscard]] virtual std::unique_ptr<Transaction> Begin() = 0;
  // A read-only view at one consistent point in time (Put/Delete/Commit refused).
  [[nodiscard]] virtual std::unique_ptr<Transaction> Snapshot() = 0;

  // Runs `body` in a transaction and commits it; a body or commit that fails with ABORTED
  // (lock timeout, deadlock) is run again in a new transaction, a bounded number of times,
  // then given up as UNAVAILABLE.
  // `body` may run more than once: it must not have effects outside the transaction.
  [[nodiscard]] absl::Status Run(const std::function<absl::Status(Transaction&)>& body);
};

}  // namespace mosaic::gateway::meta
