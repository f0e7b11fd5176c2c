#include "server/gateway/meta/pg_backend.h"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <mutex>

#include "common/status.h"
#include "server/gateway/meta/internal/pg.h"

namespace mosaic::gateway::meta {
namespace {

using pg::Conn;
using pg::Result;
using pg::Statement;

// Rows read per statement when scanning: a page of a listing is one statement.
constexpr int64_t kScanPage = 256;
// The advisory lock that serializes migrations between gateways starting together.
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(7243560147613296640)";

}  // namespace

const std::vector<PgMigration>& PgMigrations() {
  static const std::vector<PgMigration> migrations = {
      {1,
       "CREATE TABLE mosaic_rows (k bytea PRIMARY KEY, v bytea NOT NULL);"
       "CREATE TABLE mosaic_identity (id text NOT NULL);"
       "INSERT INTO mosaic_identity SELECT gen_random_uuid()::text;"},
  };
  return migrations;
}

// Idle connections, and the number open; a transaction takes one for its whole life.
class PgBackend::Pool {
 public:
  explicit Pool(PgOptions options) : options_(std::move(options)) {}

  // An idle connection or a new one; waits (up to connect_timeout) while pool_size are in use.
  absl::StatusOr<std::unique_ptr<Conn>> Acquire() {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, options_.connect_timeout,
                      [&] { return !idle_.empty() || open_ < options_.pool_size; })) {
      return absl::UnavailableError("metadata: every PostgreSQL connection is busy");
    }
    if (!idle_.empty()) {
      std::unique_ptr<Conn> c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
    ++open_;
    lock.unlock();
    auto c = Conn::Connect(options_);
    if (!c.ok()) Drop();
    return c;
  }
  // Gives a connection back; one that is broken or still in a transaction is closed.
  void Release(std::unique_ptr<Conn> c) {
    if (!c->Reusable()) {
      c.reset();
      Drop();
      return;
    }
    std::lock_guard lock(mu_);
    idle_.push_back(std::move(c));
    cv_.notify_one();
  }

 private:
  void Drop() {
    std::lock_guard lock(mu_);
    --open_;
    cv_.notify_one();
  }

  const PgOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> idle_;
  int open_ = 0;
};

namespace {

class PgTransaction final : public Transaction {
 public:
  PgTransaction(PgBackend::Pool& pool, bool read_only) : pool_(pool), read_only_(read_only) {}
  ~PgTransaction() override { End(); }

  absl::StatusOr<std::optional<std::string>> Get(std::string_view key) override {
    return Read(Statement::kGet, key);
  }
  absl::StatusOr<std::optional<std::string>> GetForUpdate(std::string_view key,
                                                          Lock lock) override {
    if (read_only_) return Get(key);
    bool shared = lock == Lock::kShared;
    std::string hash = pg::Int8(pg::KeyHash(key));
    ASSIGN_OR_RETURN(Result r,
                     Run(shared ? Statement::kLockShared : Statement::kLockExclusive, {hash}));
    return Read(shared ? Statement::kGetShared : Statement::kGetExclusive, key);
  }
  absl::Status Put(std::string_view key, std::string_view value) override {
    if (read_only_) return ReadOnly();
    std::string hash = pg::Int8(pg::KeyHash(key));
    return Run(Statement::kPut, {hash, key, value}).status();
  }
  absl::Status Delete(std::string_view key) override {
    if (read_only_) return ReadOnly();
    return Run(Statement::kDelete, {key}).status();
  }
  absl::Status Scan(std::string_view prefix, std::string_view from,
                    const ScanVisit& visit) override;
  absl::Status Commit() override {
    if (!conn_ || read_only_) {
      End();
      return absl::OkStatus();
    }
    if (!failed_.ok()) return failed_;
    ASSIGN_OR_RETURN(Result r, Guarded([&] { return conn_->Exec("COMMIT"); }));
    // A transaction that failed on the server answers COMMIT with ROLLBACK.
    if (std::string_view(PQcmdStatus(r.get())) != "COMMIT") {
      return absl::AbortedError("metadata: the transaction was rolled back");
    }
    End();
    return absl::OkStatus();
  }

 private:
  static absl::Status ReadOnly() {
    return absl::InternalError("metadata: a write in a read-only snapshot");
  }
  // Takes a connection and begins, at the first statement.
  absl::Status Start() {
    if (conn_) return absl::OkStatus();
    ASSIGN_OR_RETURN(conn_, pool_.Acquire());
    auto begun =
        conn_->Exec(read_only_ ? "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY" : "BEGIN");
    if (!begun.ok()) failed_ = begun.status();
    return begun.status();
  }
  // Runs `f` on the connection, begun; the transaction fails with its first error.
  template <typename F>
  absl::StatusOr<Result> Guarded(const F& f) {
    if (!failed_.ok()) return failed_;
    RETURN_IF_ERROR(Start());
    absl::StatusOr<Result> r = f();
    if (!r.ok()) failed_ = r.status();
    return r;
  }
  absl::StatusOr<Result> Run(Statement s, std::initializer_list<std::string_view> params) {
    return Guarded([&] { return conn_->Run(s, params); });
  }
  absl::StatusOr<std::optional<std::string>> Read(Statement s, std::string_view key) {
    ASSIGN_OR_RETURN(Result r, Run(s, {key}));
    if (PQntuples(r.get()) == 0) return std::nullopt;
    return std::string(pg::Field(r.get(), 0, 0));
  }
  // Rolls back what was not committed and gives the connection back.
  void End() {
    if (!conn_) return;
    if (!conn_->Reusable()) (void)conn_->Exec("ROLLBACK");
    pool_.Release(std::move(conn_));
  }

  PgBackend::Pool& pool_;
  const bool read_only_;
  std::unique_ptr<Conn> conn_;
  absl::Status failed_;
};

absl::Status PgTransaction::Scan(std::string_view prefix, std::string_view from,
                                 const ScanVisit& visit) {
  std::string start(std::max(prefix, from));
  // Keys with the prefix are below its successor; a prefix of 0xff bytes only has no end.
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  if (!end.empty()) end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  std::string limit = pg::Int8(kScanPage);
  for (;;) {
    ASSIGN_OR_RETURN(Result r, end.empty() ? Run(Statement::kScanToEnd, {start, limit})
                                           : Run(Statement::kScan, {start, end, limit}));
    int rows = PQntuples(r.get());
    for (int i = 0; i < rows; ++i) {
      ASSIGN_OR_RETURN(bool more, visit(pg::Field(r.get(), i, 0), pg::Field(r.get(), i, 1)));
      if (!more) return absl::OkStatus();
    }
    if (rows < kScanPage) return absl::OkStatus();
    // The next page starts just after the last key: its successor in byte order.
    start = std::string(pg::Field(r.get(), rows - 1, 0));
    start.push_back('\0');
  }
}

absl::StatusOr<int> QueryInt(Conn& c, const std::string& sql) {
  ASSIGN_OR_RETURN(Result r, c.Exec(sql));
  if (PQntuples(r.get()) != 1) return absl::InternalError("metadata: expected one row: " + sql);
  return std::stoi(PQgetvalue(r.get(), 0, 0));
}

absl::Status ApplyMigrations(Conn& c, const std::vector<PgMigration>& migrations) {
  RETURN_IF_ERROR(c.Exec(kMigrationLock).status());
  RETURN_IF_ERROR(c.Exec("CREATE TABLE IF NOT EXISTS mosaic_schema (version integer PRIMARY KEY, "
                         "applied_at timestamptz NOT NULL DEFAULT now())")
                      .status());
  ASSIGN_OR_RETURN(int current, QueryInt(c, "SELECT coalesce(max(version), 0) FROM mosaic_schema"));
  int latest = migrations.empty() ? 0 : migrations.back().version;
  if (current > latest) {
    return absl::FailedPreconditionError("metadata: the database's schema is version " +
                                         std::to_string(current) + ", newer than this gateway's " +
                                         std::to_string(latest) + ": upgrade the gateway");
  }
  for (const PgMigration& m : migrations) {
    if (m.version <= current) continue;
    RETURN_IF_ERROR(c.Exec(m.sql).status());
    RETURN_IF_ERROR(
        c.Exec("INSERT INTO mosaic_schema (version) VALUES (" + std::to_string(m.version) + ")")
            .status());
    spdlog::info("metadata: PostgreSQL schema migrated to version {}", m.version);
  }
  return absl::OkStatus();
}

}  // namespace

PgBackend::PgBackend(std::unique_ptr<Pool> pool) : pool_(std::move(pool)) {}
PgBackend::~PgBackend() = default;

absl::StatusOr<std::unique_ptr<PgBackend>> PgBackend::Open(const PgOptions& options) {
  return OpenWith(options, PgMigrations());
}

absl::StatusOr<std::unique_ptr<PgBackend>> PgBackend::OpenWith(
    const PgOptions& options, const std::vector<PgMigration>& migrations) {
  if (options.pool_size < 1) return absl::InvalidArgumentError("metadata: pool_size must be >= 1");
  auto pool = std::make_unique<Pool>(options);
  {
    // In one transaction: a failed migration leaves the schema as it was.
    ASSIGN_OR_RETURN(std::unique_ptr<Conn> c, pool->Acquire());
    RETURN_IF_ERROR(c->Exec("BEGIN").status());
    absl::Status migrated = ApplyMigrations(*c, migrations);
    if (migrated.ok()) migrated = c->Exec("COMMIT").status();
    if (!migrated.ok()) (void)c->Exec("ROLLBACK");
    pool->Release(std::move(c));
    RETURN_IF_ERROR(migrated);
  }
  return std::unique_ptr<PgBackend>(new PgBackend(std::move(pool)));
}

std::unique_ptr<Transaction> PgBackend::Begin() {
  return std::make_unique<PgTransaction>(*pool_, /*read_only=*/false);
}

std::unique_ptr<Transaction> PgBackend::Snapshot() {
  return std::make_unique<PgTransaction>(*pool_, /*read_only=*/true);
}

absl::StatusOr<int> PgBackend::SchemaVersion() {
  ASSIGN_OR_RETURN(std::unique_ptr<Conn> c, pool_->Acquire());
  auto version = QueryInt(*c, "SELECT coalesce(max(version), 0) FROM mosaic_schema");
  pool_->Release(std::move(c));
  return version;
}

absl::StatusOr<std::string> PgBackend::Identity() {
  ASSIGN_OR_RETURN(std::unique_ptr<Conn> c, pool_->Acquire());
  auto r = c->Exec("SELECT id FROM mosaic_identity");
  pool_->Release(std::move(c));
  ASSIGN_OR_RETURN(Result rows, std::move(r));
  if (PQntuples(rows.get()) != 1) return absl::DataLossError("metadata: no database identity");
  return std::string(PQgetvalue(rows.get(), 0, 0));
}

}  // namespace mosaic::gateway::meta
