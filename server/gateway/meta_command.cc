// `mosaic meta migrate --config FILE --to postgresql://…` (issue 17): moves a gateway's
// metadata from its RocksDB folder (data_dir/meta) into an empty PostgreSQL database, offline:
// the gateway must be stopped (RocksDB's lock on the folder says when it is not). Every row
// is copied (meta/meta_copy.h) and verified table by table, then the config's [metadata]
// section is rewritten to name the database; the old config is kept beside it. The RocksDB
// folder is left as it was. Exit 0 when migrated, 1 when the copy failed, 2 for bad
// arguments or a gateway that runs.

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <sstream>

#include "common/status.h"
#include "common/toml_config.h"
#include "server/commands.h"
#include "server/gateway/config.h"
#include "server/gateway/meta/meta_copy.h"
#include "server/gateway/meta/meta_store.h"

namespace mosaic {
namespace {

struct MigrateArgs {
  std::string config, to, password_file;
};

// `text` with its [metadata] table replaced by `section` (or `section` appended when there
// is none); comments and every other table are kept as they are.
std::string ReplaceMetadataSection(const std::string& text, const std::string& section) {
  static const std::regex header(R"(^\s*\[\s*metadata\s*\]\s*(#.*)?$)");
  static const std::regex any_header(R"(^\s*\[.*$)");
  std::istringstream in(text);
  std::string out, line;
  bool inside = false, placed = false;
  while (std::getline(in, line)) {
    if (std::regex_match(line, header)) {
      inside = true;
      placed = true;
      out += section;
      continue;
    }
    if (inside && std::regex_match(line, any_header)) inside = false;
    if (!inside) out += line + "\n";
  }
  if (!placed) out += "\n" + section;
  return out;
}

std::string PostgresSection(const MigrateArgs& a) {
  std::string s =
      "[metadata]\n# Moved from RocksDB by `mosaic meta migrate`.\n"
      "backend = \"postgresql\"\ndsn = " +
      config::Quote(a.to) + "\n";
  if (!a.password_file.empty()) {
    s += "password_file = " + config::Quote(std::filesystem::absolute(a.password_file).string()) +
         "\n";
  }
  return s + "\n";
}

// A free name beside the config for its old text: FILE.rocksdb, or FILE.rocksdb.N.
std::string BackupName(const std::string& config) {
  std::string name = config + ".rocksdb";
  std::error_code ec;
  for (int i = 1; std::filesystem::exists(name, ec); ++i) {
    name = config + ".rocksdb." + std::to_string(i);
  }
  return name;
}

// The RocksDB store the config names, opened: refused when its gateway runs.
std::unique_ptr<gateway::MetaStore> OpenSource(const gateway::GatewayConfig& c) {
  if (c.metadata.backend != gateway::MetadataConfig::Backend::kRocksDb) {
    FailCommand(2, absl::FailedPreconditionError(
                       "the config's metadata is in PostgreSQL already ([metadata] backend)"));
  }
  std::string dir = c.data_dir + "/meta";
  std::error_code ec;
  if (!std::filesystem::exists(dir + "/CURRENT", ec)) {
    FailCommand(2, absl::NotFoundError("no RocksDB metadata in " + dir));
  }
  auto store = gateway::MetaStore::Open(dir);
  if (!store.ok()) {
    FailCommand(2, absl::FailedPreconditionError(
                       "cannot open " + dir + " (" + std::string(store.status().message()) +
                       "): if its gateway runs, stop it first; migrate is offline"));
  }
  return std::move(*store);
}

// Rewrites the config (after keeping its text beside it); exits on failure.
void RewriteConfig(const MigrateArgs& a) {
  auto text = config::ReadFile(a.config);
  if (!text.ok()) FailCommand(1, text.status());
  std::string updated = ReplaceMetadataSection(*text, PostgresSection(a));
  auto check = gateway::ParseGatewayConfig(updated);
  if (!check.ok() || check->metadata.backend != gateway::MetadataConfig::Backend::kPostgres) {
    FailCommand(1,
                absl::InternalError("the rewritten config would not parse: " +
                                    check.status().ToString() + "; " + a.config + " is unchanged"));
  }
  std::string kept = BackupName(a.config);
  absl::Status s = config::WriteNewFile(kept, *text, 0600);
  if (s.ok()) s = config::WriteNewFile(a.config, updated, 0600, /*replace=*/true);
  if (!s.ok()) FailCommand(1, s);
  std::printf("kept the old config as %s\n", kept.c_str());
  std::printf("rewrote the [metadata] section of %s: backend = \"postgresql\"%s\n",
              a.config.c_str(), a.password_file.empty() ? "" : ", password_file");
}

int Migrate(const MigrateArgs& a) {
  auto c = gateway::LoadGatewayConfig(a.config);
  if (!c.ok()) FailCommand(2, c.status());
  std::unique_ptr<gateway::MetaStore> from = OpenSource(*c);
  gateway::MetadataConfig target = c->metadata;
  target.backend = gateway::MetadataConfig::Backend::kPostgres;
  target.postgres.dsn = a.to;
  target.postgres.password_file = a.password_file;
  auto to = gateway::MetaStore::Open(target, c->data_dir);
  if (!to.ok()) FailCommand(1, to.status());
  auto start = std::chrono::steady_clock::now();
  auto tallies = gateway::meta::CopyAllRows(*from, **to);
  if (!tallies.ok())
    FailCommand(tallies.status().code() == absl::StatusCode::kFailedPrecondition ? 2 : 1,
                tallies.status());
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // The DSN is not printed: it may hold a password.
  std::printf(
      "copied %s/meta into the PostgreSQL database of --to in %.1f s; rows per table, "
      "the same on both sides:\n%s",
      c->data_dir.c_str(), seconds, gateway::meta::FormatTallies(*tallies).c_str());
  RewriteConfig(a);
  std::printf(
      "left %s/meta as it was (no gateway uses it now; delete it once the gateways on "
      "PostgreSQL serve)\nstart the gateways: mosaic gateway --config %s\n",
      c->data_dir.c_str(), a.config.c_str());
  return 0;
}

}  // namespace

void AddMetaCommand(CLI::App& app) {
  CLI::App* meta = app.add_subcommand("meta", "The gateway's metadata store");
  meta->require_subcommand(1);
  CLI::App* cmd = meta->add_subcommand(
      "migrate",
      "Move a gateway's metadata from RocksDB into an empty PostgreSQL database, offline: stop "
      "the gateway first (refused while it runs). Copies and verifies every table, then "
      "rewrites the config's [metadata] section (the old config is kept as FILE.rocksdb)");
  auto a = std::make_shared<MigrateArgs>();
  cmd->add_option("--config", a->config, "The gateway's config file (TOML)")->required();
  cmd->add_option("--to", a->to,
                  "The empty PostgreSQL database: postgresql://user@host/db (or a libpq "
                  "key=value string); a password in it ends up in the config")
      ->required();
  cmd->add_option("--password-file", a->password_file,
                  "A file whose first line is the database password (0600), written into the "
                  "config as [metadata] password_file");
  cmd->callback([a] {
    int code = Migrate(*a);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace mosaic
