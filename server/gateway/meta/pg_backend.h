#pragma once
// The metadata backend in PostgreSQL (txn.h), through libpq: several gateways share one
// database (issue 17). Rows live in one table, `mosaic_rows (k bytea PRIMARY KEY, v bytea)`:
// bytea compares as bytes, so scans come in S3's byte order whatever the database's collation.
//
// Locking, so that each rule of the tables holds across gateways (the same contract as
// RocksDB's row locks): GetForUpdate takes a transaction-scoped advisory lock on a 64-bit
// hash of the key (shared or exclusive) and then reads the row FOR SHARE / FOR UPDATE; Put
// takes the key's exclusive advisory lock in the statement that writes it. So a row that does
// not exist yet is locked too (two If-None-Match writers: exactly one sees no row and
// writes), and a lock read after the wait sees what the previous holder committed (READ
// COMMITTED: each statement reads the latest commits). Hash collisions only make unrelated
// keys wait for each other.
//
// Errors: serialization failures, deadlocks and lock timeouts (lock_timeout) are ABORTED
// (Backend::Run retries); a lost or refused connection, a statement timeout, an exhausted
// pool, a server shutting down or out of resources are UNAVAILABLE (S3: 503 ServiceUnavailable, the
// client retries); anything else is INTERNAL. A commit whose answer was lost is UNAVAILABLE:
// it may or may not have happened (nothing was acknowledged).
//
// Connections come from a pool (at most pool_size; a transaction holds one from its first
// statement to its end). Every connection prepares the statements once. Thread-safe.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/gateway/meta/txn.h"

namespace mosaic::gateway::meta {

struct PgOptions {
  // A libpq connection string or URI ("host=/run/postgresql dbname=mosaic", or
  // "postgresql://gw@db.example/mosaic"). It is never logged: it may hold a password.
  std::string dsn;
  // A file whose first line is the password (0600), when the DSN has none; libpq's own
  // ~/.pgpass, PGPASSFILE or passfile= work as well.
  std::string password_file;
  int pool_size = 16;
  // A lock wait longer than this is given up (ABORTED, retried by Run).
  std::chrono::milliseconds lock_timeout{2000};
  // A statement longer than this (a slow or stuck database) fails as UNAVAILABLE.
  std::chrono::milliseconds statement_timeout{5000};
  // How long a transaction waits for a free connection, and a new connection for the
  // server, before UNAVAILABLE.
  std::chrono::milliseconds connect_timeout{3000};
};

// One versioned change of the schema: applied once, in order, in one transaction with its
// version recorded in mosaic_schema.
struct PgMigration {
  int version;
  const char* sql;
};
// The gateway's migrations, oldest first.
const std::vector<PgMigration>& PgMigrations();

class PgBackend final : public Backend {
 public:
  // Connects and brings the schema up to date (PgMigrations: those not applied yet, under a
  // database-wide lock so that gateways starting together apply each once).
  // UNAVAILABLE if the server cannot be reached; FAILED_PRECONDITION if the database's schema
  // is newer than this gateway knows; INVALID_ARGUMENT for a malformed DSN.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<PgBackend>> Open(const PgOptions& options);
  // As Open, with `migrations` instead of the gateway's (tests of the migration runner).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<PgBackend>> OpenWith(
      const PgOptions& options, const std::vector<PgMigration>& migrations);
  ~PgBackend() override;

  std::unique_ptr<Transaction> Begin() override;
  // A REPEATABLE READ, READ ONLY transaction.
  std::unique_ptr<Transaction> Snapshot() override;

  // The highest migration applied to the database.
  [[nodiscard]] absl::StatusOr<int> SchemaVersion();
  // The database's identity: a random id written by the first migration (a restored or
  // migrated copy has another).
  [[nodiscard]] absl::StatusOr<std::string> Identity();

  class Pool;

 private:
  explicit PgBackend(std::unique_ptr<Pool> pool);
  std::unique_ptr<Pool> pool_;
};

}  // namespace mosaic::gateway::meta
