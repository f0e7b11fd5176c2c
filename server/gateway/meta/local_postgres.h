#pragma once
// A PostgreSQL server of its own in a folder, for `mosaic dev --metadata postgresql` and the
// tests: Debian's postgresql-15 binaries (initdb, pg_ctl), run as the unprivileged user
// `nobody` when we are root (initdb refuses root), listening on a Unix socket in the folder
// only (no TCP port, so nothing to collide with), owner-only. The superuser is `mosaic`,
// trusted on that socket: whoever can enter the folder can connect. Not for production: a
// group's gateways connect to a PostgreSQL its admins run (docs/group-guide.md).

#include <string>

#include "absl/status/statusor.h"

namespace mosaic::gateway::meta {

class LocalPostgres {
 public:
  struct Options {
    // fsync off: for unit tests only (their data is thrown away); `mosaic dev` keeps it on.
    bool durable = true;
  };
  // Creates the cluster in `dir` (initdb) unless it is there, and starts it (pg_ctl -w: it
  // accepts connections when this returns). `dir` is created if missing and given to the
  // user the server runs as; its parent must be enterable by that user. UNAVAILABLE if the
  // server does not start (its log: dir/postgres.log), NOT_FOUND if PostgreSQL is not
  // installed.
  [[nodiscard]] static absl::StatusOr<LocalPostgres> Start(const std::string& dir, Options options);
  // Stops the server (pg_ctl stop -m fast) and waits for it. Safe to call again.
  [[nodiscard]] absl::Status Stop();
  // Starts it again after Stop (same folder, same socket).
  [[nodiscard]] absl::Status Restart();

  // Creates database `name` if it does not exist.
  [[nodiscard]] absl::Status CreateDatabase(const std::string& name);
  // The libpq DSN of database `name`.
  std::string Dsn(const std::string& name) const;
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  Options options_;
};

}  // namespace mosaic::gateway::meta
