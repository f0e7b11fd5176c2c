// One libpq connection of the PostgreSQL backend (internal/pg.h): connecting without ever
// logging the DSN, the prepared statements, and PostgreSQL errors as absl::Status.
#include <algorithm>
#include <array>
#include <fstream>
#include <vector>

#include "common/status.h"
#include "server/gateway/meta/internal/pg.h"

namespace mosaic::gateway::meta::pg {
namespace {

constexpr Oid kBytea = 17;
constexpr Oid kInt8 = 20;

struct StatementDef {
  const char* name;
  const char* sql;
  std::vector<Oid> types;
};

// Indexed by Statement. The advisory lock comes first and its own statement in GetForUpdate:
// the read that follows takes a new snapshot (READ COMMITTED), after the previous holder's
// commit. In Put it shares the statement: INSERT … ON CONFLICT needs no snapshot of the row.
const std::array<StatementDef, 9>& Statements() {
  static const std::array<StatementDef, 9> defs = {{
      {"get", "SELECT v FROM mosaic_rows WHERE k = $1", {kBytea}},
      {"get_s", "SELECT v FROM mosaic_rows WHERE k = $1 FOR SHARE", {kBytea}},
      {"get_x", "SELECT v FROM mosaic_rows WHERE k = $1 FOR UPDATE", {kBytea}},
      {"lock_s", "SELECT pg_advisory_xact_lock_shared($1)", {kInt8}},
      {"lock_x", "SELECT pg_advisory_xact_lock($1)", {kInt8}},
      {"put",
       "WITH l AS (SELECT pg_advisory_xact_lock($1)) INSERT INTO mosaic_rows (k, v) "
       "SELECT $2, $3 FROM l ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v",
       {kInt8, kBytea, kBytea}},
      {"del", "DELETE FROM mosaic_rows WHERE k = $1", {kBytea}},
      {"scan",
       "SELECT k, v FROM mosaic_rows WHERE k >= $1 AND k < $2 ORDER BY k LIMIT $3",
       {kBytea, kBytea, kInt8}},
      {"scan_end",
       "SELECT k, v FROM mosaic_rows WHERE k >= $1 ORDER BY k LIMIT $2",
       {kBytea, kInt8}},
  }};
  return defs;
}

std::string Trimmed(const char* message) {
  std::string m = message ? message : "";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

// The error of a failed result (or of the connection, when there is no result).
absl::Status FromPg(PGconn* conn, const PGresult* r, std::string_view what) {
  const char* field = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string state = field ? field : "";
  std::string message = "metadata " + std::string(what) + ": " +
                        Trimmed(r ? PQresultErrorMessage(r) : PQerrorMessage(conn));
  if (PQstatus(conn) == CONNECTION_BAD) return absl::UnavailableError(message);
  // serialization_failure, deadlock_detected, lock_not_available (lock_timeout)
  if (state == "40001" || state == "40P01" || state == "55P03") {
    return absl::AbortedError(message);
  }
  // connection exceptions, insufficient resources, operator intervention (statement
  // timeout, shutdown), system errors: the database, not the request.
  for (const char* retryable : {"08", "53", "57", "58"}) {
    if (state.starts_with(retryable)) return absl::UnavailableError(message);
  }
  return absl::InternalError(message);
}

std::string Seconds(std::chrono::milliseconds ms) {
  return std::to_string(std::max<int64_t>(2, (ms.count() + 999) / 1000));
}

absl::StatusOr<std::string> ReadPassword(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) {
    return absl::NotFoundError("metadata password_file " + path + " cannot be read");
  }
  return line;
}

}  // namespace

std::string Int8(int64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, v = static_cast<int64_t>(static_cast<uint64_t>(v) >> 8)) {
    out[i] = static_cast<char>(v & 0xff);
  }
  return out;
}

int64_t KeyHash(std::string_view key) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a, 64 bits
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
  return static_cast<int64_t>(h);
}

std::string_view Field(const PGresult* r, int row, int column) {
  return {PQgetvalue(r, row, column), static_cast<size_t>(PQgetlength(r, row, column))};
}

absl::StatusOr<std::unique_ptr<Conn>> Conn::Connect(const PgOptions& options) {
  std::string password;
  if (!options.password_file.empty()) {
    ASSIGN_OR_RETURN(password, ReadPassword(options.password_file));
  }
  std::string session =
      "-c lock_timeout=" + std::to_string(options.lock_timeout.count()) +
      " -c statement_timeout=" + std::to_string(options.statement_timeout.count());
  std::string timeout = Seconds(options.connect_timeout);
  // Our defaults first; the DSN (expanded in place of dbname) may override them; the
  // password file last.
  std::vector<const char*> keys = {"connect_timeout", "application_name",    "options",
                                   "keepalives_idle", "keepalives_interval", "keepalives_count",
                                   "dbname"};
  std::vector<const char*> values = {
      timeout.c_str(), "mosaic-gateway", session.c_str(), "5", "2", "3", options.dsn.c_str()};
  if (!password.empty()) {
    keys.push_back("password");
    values.push_back(password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* raw = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
  if (raw == nullptr) return absl::ResourceExhaustedError("metadata: libpq out of memory");
  std::unique_ptr<Conn> conn(new Conn(raw));
  // NOTICEs (CREATE TABLE IF NOT EXISTS …) are not errors: not printed on stderr.
  PQsetNoticeProcessor(
      raw, [](void*, const char*) {}, nullptr);
  if (PQstatus(raw) != CONNECTION_OK) {
    std::string message = Trimmed(PQerrorMessage(raw));
    if (message.find("invalid") != std::string::npos &&
        message.find("option") != std::string::npos) {
      return absl::InvalidArgumentError("metadata dsn: " + message);
    }
    return absl::UnavailableError("metadata: cannot connect to PostgreSQL: " + message);
  }
  return conn;
}

Conn::~Conn() { PQfinish(conn_); }

bool Conn::Reusable() const {
  return PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) == PQTRANS_IDLE;
}

absl::StatusOr<Result> Conn::Check(PGresult* r, std::string_view what) {
  Result result(r);
  ExecStatusType status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  return FromPg(conn_, r, what);
}

absl::Status Conn::Prepare() {
  for (const StatementDef& s : Statements()) {
    ASSIGN_OR_RETURN(Result r, Check(PQprepare(conn_, s.name, s.sql,
                                               static_cast<int>(s.types.size()), s.types.data()),
                                     std::string("prepare ") + s.name));
  }
  prepared_ = true;
  return absl::OkStatus();
}

absl::StatusOr<Result> Conn::Run(Statement s, std::initializer_list<std::string_view> params) {
  if (!prepared_) RETURN_IF_ERROR(Prepare());
  const StatementDef& def = Statements()[static_cast<size_t>(s)];
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats(params.size(), 1);
  for (std::string_view p : params) {
    // libpq reads `length` bytes of a binary parameter: a null pointer for empty is fine,
    // but not for a non-null value, so point empty values at a constant.
    values.push_back(p.empty() ? "" : p.data());
    lengths.push_back(static_cast<int>(p.size()));
  }
  return Check(PQexecPrepared(conn_, def.name, static_cast<int>(params.size()), values.data(),
                              lengths.data(), formats.data(), /*resultFormat=*/1),
               def.name);
}

absl::StatusOr<Result> Conn::Exec(const std::string& sql) {
  return Check(PQexec(conn_, sql.c_str()), "statement");
}

}  // namespace mosaic::gateway::meta::pg
