#include "server/gateway/meta/local_postgres.h"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <vector>

#include "common/status.h"

namespace mosaic::gateway::meta {
namespace {

namespace fs = std::filesystem;

// The newest installed PostgreSQL's binaries (Debian: /usr/lib/postgresql/<major>/bin).
absl::StatusOr<std::string> BinDir() {
  std::string best;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    std::string bin = entry.path().string() + "/bin";
    if (fs::exists(bin + "/initdb") && bin > best) best = bin;
  }
  if (best.empty()) {
    return absl::NotFoundError(
        "PostgreSQL is not installed (/usr/lib/postgresql/*/bin/initdb): install postgresql-15 "
        "(deploy/install-deps.sh)");
  }
  return best;
}

// The user the server runs as: `nobody` when we are root, else ourselves.
struct RunAs {
  uid_t uid = getuid();
  gid_t gid = getgid();
  bool change = false;
};

absl::StatusOr<RunAs> ServerUser() {
  RunAs r;
  if (geteuid() != 0) return r;
  struct passwd* pw = getpwnam("nobody");
  if (pw == nullptr) return absl::NotFoundError("no user `nobody` to run PostgreSQL as");
  r = {pw->pw_uid, pw->pw_gid, true};
  return r;
}

// Runs `argv` as the server's user in `dir`, output appended to dir/postgres.log; waits.
// Everything the child needs is prepared before fork: it only calls async-signal-safe
// functions (the caller may have threads).
absl::Status RunTool(const std::string& dir, const std::vector<std::string>& argv) {
  ASSIGN_OR_RETURN(RunAs user, ServerUser());
  std::string log = dir + "/postgres.log";
  int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoToStatus(errno, log);
  if (user.change && fchown(fd, user.uid, user.gid) != 0) {
    close(fd);
    return ErrnoToStatus(errno, log);
  }
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  char locale[] = "LC_ALL=C";
  char* env[] = {locale, nullptr};
  pid_t pid = fork();
  if (pid < 0) {
    close(fd);
    return ErrnoToStatus(errno, "fork");
  }
  if (pid == 0) {
    if (user.change &&
        (setgroups(0, nullptr) != 0 || setgid(user.gid) != 0 || setuid(user.uid) != 0)) {
      _exit(126);
    }
    if (chdir(dir.c_str()) != 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) _exit(126);
    execve(args[0], args.data(), env);
    _exit(127);
  }
  close(fd);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
  return absl::UnavailableError(argv[0] + " failed (status " + std::to_string(status) + "); see " +
                                log);
}

}  // namespace

absl::StatusOr<LocalPostgres> LocalPostgres::Start(const std::string& dir_arg, Options options) {
  ASSIGN_OR_RETURN(std::string bin, BinDir());
  ASSIGN_OR_RETURN(RunAs user, ServerUser());
  LocalPostgres pg;
  pg.dir_ = fs::absolute(dir_arg).string();
  pg.options_ = options;
  std::error_code ec;
  fs::create_directories(pg.dir_, ec);
  if (ec) return absl::UnavailableError("cannot create " + pg.dir_ + ": " + ec.message());
  if (chmod(pg.dir_.c_str(), 0700) != 0) return ErrnoToStatus(errno, pg.dir_);
  if (user.change && chown(pg.dir_.c_str(), user.uid, user.gid) != 0) {
    return ErrnoToStatus(errno, pg.dir_);
  }
  if (!fs::exists(pg.dir_ + "/data/PG_VERSION")) {
    std::vector<std::string> initdb = {bin + "/initdb", "-D",        pg.dir_ + "/data", "-U",
                                       "mosaic",        "-A",        "trust",           "-E",
                                       "UTF8",          "--locale=C"};
    if (!options.durable) initdb.push_back("--no-sync");
    RETURN_IF_ERROR(RunTool(pg.dir_, initdb));
  }
  RETURN_IF_ERROR(pg.Restart());
  return pg;
}

absl::Status LocalPostgres::Restart() {
  ASSIGN_OR_RETURN(std::string bin, BinDir());
  // Unix socket only, in the folder; locks for transactions that touch many rows (a
  // CompleteMultipartUpload of 10,000 parts locks each piece).
  std::string server = "-c listen_addresses='' -k " + dir_ +
                       " -c unix_socket_permissions=0700 -c max_connections=200"
                       " -c max_locks_per_transaction=512";
  if (!options_.durable) server += " -c fsync=off -c synchronous_commit=off";
  // Still running (a `mosaic dev` killed without its clean-up): it is used as it is.
  if (RunTool(dir_, {bin + "/pg_ctl", "-D", dir_ + "/data", "status"}).ok()) {
    return absl::OkStatus();
  }
  return RunTool(dir_, {bin + "/pg_ctl", "-D", dir_ + "/data", "-l", dir_ + "/postgres.log", "-w",
                        "-t", "60", "-o", server, "start"});
}

absl::Status LocalPostgres::Stop() {
  ASSIGN_OR_RETURN(std::string bin, BinDir());
  if (!fs::exists(dir_ + "/data/postmaster.pid")) return absl::OkStatus();
  return RunTool(dir_, {bin + "/pg_ctl", "-D", dir_ + "/data", "-m", "fast", "-w", "stop"});
}

std::string LocalPostgres::Dsn(const std::string& name) const {
  return "host=" + dir_ + " user=mosaic dbname=" + name;
}

absl::Status LocalPostgres::CreateDatabase(const std::string& name) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(Dsn("postgres").c_str()),
                                                    &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return absl::UnavailableError(std::string("PostgreSQL in ") + dir_ + ": " +
                                  PQerrorMessage(conn.get()));
  }
  auto exec = [&](const std::string& sql) {
    PGresult* r = PQexec(conn.get(), sql.c_str());
    ExecStatusType s = PQresultStatus(r);
    int rows = s == PGRES_TUPLES_OK ? PQntuples(r) : s == PGRES_COMMAND_OK ? 0 : -1;
    PQclear(r);
    return rows;
  };
  std::unique_ptr<char, decltype(&PQfreemem)> quoted(
      PQescapeLiteral(conn.get(), name.c_str(), name.size()), &PQfreemem);
  if (exec("SELECT 1 FROM pg_database WHERE datname = " + std::string(quoted.get())) > 0) {
    return absl::OkStatus();
  }
  std::unique_ptr<char, decltype(&PQfreemem)> ident(
      PQescapeIdentifier(conn.get(), name.c_str(), name.size()), &PQfreemem);
  if (exec("CREATE DATABASE " + std::string(ident.get())) < 0) {
    return absl::UnavailableError("cannot create database " + name + ": " +
                                  PQerrorMessage(conn.get()));
  }
  return absl::OkStatus();
}

}  // namespace mosaic::gateway::meta
