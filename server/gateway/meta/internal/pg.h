#pragma once
// libpq helpers of the PostgreSQL backend (private to meta/): one connection with the
// backend's prepared statements, and the one place where PostgreSQL errors become
// absl::Status (pg_backend.h says which codes).

#include <libpq-fe.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "server/gateway/meta/pg_backend.h"

namespace mosaic::gateway::meta::pg {

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

// The prepared statements (pg_conn.cc lists their SQL); parameters are sent and results
// received in binary: bytea as raw bytes, int8 as 8 bytes big-endian.
enum class Statement {
  kGet,
  kGetShared,
  kGetExclusive,
  kLockShared,
  kLockExclusive,
  kPut,
  kDelete,
  kScan,
  kScanToEnd
};

class Conn {
 public:
  // Connects (UNAVAILABLE if the server cannot be reached, INVALID_ARGUMENT for a DSN libpq
  // cannot parse). The statements are prepared at their first use.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Conn>> Connect(const PgOptions& options);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Runs a prepared statement; a tuples or command result, or the error.
  [[nodiscard]] absl::StatusOr<Result> Run(Statement s,
                                           std::initializer_list<std::string_view> params);
  // Runs SQL text (one or more statements, no parameters): the last result, or the error.
  [[nodiscard]] absl::StatusOr<Result> Exec(const std::string& sql);
  // Whether the connection can be given to another transaction: connected, and outside
  // any transaction.
  bool Reusable() const;

 private:
  explicit Conn(PGconn* conn) : conn_(conn) {}
  absl::Status Prepare();
  absl::StatusOr<Result> Check(PGresult* r, std::string_view what);

  PGconn* conn_;
  bool prepared_ = false;
};

// An int8 parameter's binary form.
std::string Int8(int64_t v);
// A 64-bit hash of a key, stable across processes and builds (the advisory lock's id).
int64_t KeyHash(std::string_view key);
// The bytes of field (row, column) of a binary result.
std::string_view Field(const PGresult* r, int row, int column);

}  // namespace mosaic::gateway::meta::pg
