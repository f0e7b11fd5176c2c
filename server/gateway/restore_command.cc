// `mosaic restore --key FILE (--nodes FILE | --node ADDRESS --fingerprint SHA256 --token-file
// FILE | --invite INVITE) --into DIR`: rebuilds a gateway's metadata folder from the backup on the
// nodes (backup/restore.h) and writes DIR/gateway.toml from the settings the backup carries
// (backup/settings.h). `--into postgresql://… --config-dir DIR` writes the metadata into that
// empty PostgreSQL database instead, and DIR/gateway.toml names it (issue 17). With --node (or
// --invite), one node is enough: its certificate is checked against the fingerprint, the newest
// root it holds names every other node. Exit 0 when restored (missing shards are reported, not
// fatal), 1 when no backup was found or it could not be read, 2 for bad arguments.

#include <cstdio>
#include <filesystem>

#include "client/crypto/key_file.h"
#include "client/pipeline/pipeline.h"
#include "client/rpc/node_pool.h"
#include "common/status.h"
#include "common/tls_cert.h"
#include "common/toml_config.h"
#include "server/commands.h"
#include "server/gateway/backup/restore.h"
#include "server/gateway/backup/root.h"
#include "server/gateway/backup/root_io.h"
#include "server/gateway/backup/settings.h"
#include "server/gateway/config.h"
#include "server/gateway/invite.h"

namespace mosaic {
namespace {

struct RestoreArgs {
  std::string key_file, nodes_file, node, fingerprint, token_file, into, invite;
  std::string token;                      // from --invite (else read from token_file)
  std::string config_dir, password_file;  // with --into postgresql://…
  int passphrase_fd = -1;
  bool drill = false;
  // Derived from the above: the gateway's folder (gateway.toml, certificates; RocksDB's meta/)
  // and where its metadata goes.
  std::string folder;
  gateway::MetadataConfig metadata;
};

bool IsPostgresUri(const std::string& s) {
  return s.starts_with("postgresql://") || s.starts_with("postgres://");
}

// Fills in `folder` and `metadata` from --into, --config-dir and --password-file.
void Resolve(RestoreArgs& a) {
  if (!IsPostgresUri(a.into)) {
    if (!a.config_dir.empty() || !a.password_file.empty()) {
      throw CLI::ValidationError("--config-dir/--password-file",
                                 "only with --into postgresql://… (a RocksDB restore writes "
                                 "its config into the --into folder)");
    }
    a.folder = a.into;
    return;
  }
  if (a.config_dir.empty()) {
    throw CLI::ValidationError("--config-dir",
                               "with --into postgresql://…, name the folder for gateway.toml");
  }
  a.folder = a.config_dir;
  a.metadata.backend = gateway::MetadataConfig::Backend::kPostgres;
  a.metadata.postgres.dsn = a.into;
  a.metadata.postgres.password_file = a.password_file;
}

// The one node's endpoint: its certificate fetched and checked against the fingerprint given
// (not the network's word), its token from the file, its id asked of the node itself.
absl::StatusOr<client::NodeEndpoint> OneNode(const RestoreArgs& a) {
  ASSIGN_OR_RETURN(std::string pem, tls::FetchCertificate(a.node, std::chrono::seconds(10)));
  ASSIGN_OR_RETURN(std::string presented, tls::Fingerprint(pem));
  if (presented != a.fingerprint) {
    return absl::FailedPreconditionError("node at " + a.node + " presented certificate " +
                                         presented + ", not " + a.fingerprint +
                                         " (--fingerprint); ask the provider, not the network");
  }
  std::string token = a.token;
  if (a.invite.empty()) {
    ASSIGN_OR_RETURN(token, config::ReadFile(a.token_file));
  }
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) {
    token.pop_back();
  }
  client::NodeEndpoint e;
  e.spec.id = e.spec.provider = "?";
  e.address = a.node;
  e.token = token;
  e.tls_ca_pem = pem;
  e.tls_fingerprint = presented;
  client::NodePool probe({e}, client::RpcOptions());
  absl::Status health = probe.node(0).CheckHealth();
  if (!health.ok()) {
    return absl::Status(health.code(), "node at " + a.node + ": " + std::string(health.message()));
  }
  e.spec.id = probe.node(0).status().node_id;
  return e;
}

// Through one node: the newest root it holds, whose settings are written into `into`; returns
// the node list they name.
absl::StatusOr<std::vector<client::NodeEndpoint>> NodesThroughOne(const client::KeyRing& ring,
                                                                  const RestoreArgs& a) {
  ASSIGN_OR_RETURN(client::NodeEndpoint one, OneNode(a));
  client::NodePool pool({one}, client::RpcOptions());
  gateway::RootSearch search = gateway::FindRoots(pool, ring);
  std::optional<v1::BackupRoot> root = gateway::NewestRoot(search.roots);
  if (!root) {
    return absl::NotFoundError("no backup found for this key on node " + one.spec.id + " at " +
                               a.node +
                               (search.failures.empty() ? "" : " (" + search.failures[0] + ")"));
  }
  if (root->settings().config_toml().empty()) {
    return absl::FailedPreconditionError(
        "the backup on node " + one.spec.id + " (generation " + std::to_string(root->generation()) +
        ") carries no gateway settings: it was written by an older gateway; restore with "
        "--nodes FILE");
  }
  ASSIGN_OR_RETURN(
      gateway::RestoredConfig written,
      gateway::WriteRestoredConfig(root->settings(), a.folder, a.key_file, a.metadata));
  std::printf("restore: node %s holds backup generation %llu naming %d nodes\n",
              one.spec.id.c_str(), static_cast<unsigned long long>(root->generation()),
              root->nodes_size());
  return gateway::LoadNodeList(written.path);
}

// Writes the restored gateway's config from the restored root's settings, if it has any (the
// newest root on every node: it may be newer than the one node's).
void WriteConfig(const gateway::RestoreReport& report, const RestoreArgs& a) {
  if (report.settings.config_toml().empty()) {
    std::printf(
        "the backup carries no gateway settings (an older gateway wrote it): start a "
        "gateway with data_dir = \"%s\" and the same key file to serve it\n",
        a.folder.c_str());
    return;
  }
  auto written = gateway::WriteRestoredConfig(report.settings, a.folder, a.key_file, a.metadata);
  if (!written.ok()) {  // the metadata is restored all the same
    std::printf("the gateway's config could not be written: %s\n",
                written.status().ToString().c_str());
    return;
  }
  for (const std::string& note : written->notes) std::printf("note: %s\n", note.c_str());
  std::printf("wrote %s (the gateway's settings at backup time; it holds the nodes' tokens)\n",
              written->path.c_str());
  if (a.drill) {
    std::printf("a drill: the nodes were not fenced; delete %s once checked\n", a.folder.c_str());
    return;
  }
  std::printf("start it as it is: mosaic gateway --config %s\n", written->path.c_str());
}

// --invite: the invite's text, or a file holding it (so the token need not be on the command
// line); fills in the node's address, fingerprint and token.
absl::Status TakeInvite(RestoreArgs& a) {
  std::string text = a.invite;
  if (!text.starts_with("mosaic-invite-1:")) {
    ASSIGN_OR_RETURN(text, config::ReadFile(a.invite));
  }
  ASSIGN_OR_RETURN(gateway::Invite invite, gateway::ParseInvite(text));
  a.node = invite.address;
  a.fingerprint = invite.fingerprint;
  a.token = invite.token;
  std::printf("restore: through node %s of provider %s at %s (from the invite)\n",
              invite.node_id.c_str(), invite.provider.c_str(), invite.address.c_str());
  return absl::OkStatus();
}

int Restore(RestoreArgs& a) {
  if (std::string warning = client::KeyFileModeWarning(a.key_file); !warning.empty()) {
    std::fprintf(stderr, "mosaic restore: warning: %s\n", warning.c_str());
  }
  std::error_code ec;
  for (const char* name : {"/meta", "/gateway.toml"}) {
    if (std::filesystem::exists(a.folder + name, ec)) {
      FailCommand(2, absl::FailedPreconditionError(a.folder + name +
                                                   " exists already; restore into a new folder"));
    }
  }
  if (a.metadata.backend == gateway::MetadataConfig::Backend::kPostgres) {
    // The DSN is not printed: it may hold a password.
    std::printf("restore: the metadata goes into the PostgreSQL database of --into\n");
  }
  // A passphrase-mode key file: as for the gateway, or the first line of stdin.
  auto ring =
      client::OpenKeyFile(a.key_file, client::ProcessPassphraseSources(a.passphrase_fd, true));
  if (!ring.ok()) FailCommand(2, ring.status());
  auto nodes =
      a.nodes_file.empty() ? NodesThroughOne(*ring, a) : gateway::LoadNodeList(a.nodes_file);
  if (!nodes.ok()) FailCommand(a.nodes_file.empty() ? 1 : 2, nodes.status());
  client::NodePool pool(*nodes, client::RpcOptions());
  client::Pipeline pipeline(*ring, pool, client::PipelineOptions());
  auto report = gateway::RestoreMetadata(
      pipeline, a.folder,
      [](const std::string& line) {
        std::printf("restore: %s\n", line.c_str());
        std::fflush(stdout);
      },
      !a.drill, a.metadata);
  if (!report.ok()) FailCommand(1, report.status());
  std::printf("%s", gateway::RestoreSummary(*report).c_str());
  WriteConfig(*report, a);
  return 0;
}

}  // namespace

void AddRestoreCommand(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "restore",
      "Rebuild a gateway (metadata and gateway.toml) from the backup on the nodes: the key and "
      "one node, or the key and a node list");
  auto a = std::make_shared<RestoreArgs>();
  cmd->add_option("--key", a->key_file, "The master key file")->required();
  auto* invite = cmd->add_option(
      "--invite", a->invite,
      "Instead of --node/--fingerprint/--token-file: the provider's invite for that node "
      "(mosaic-invite-1:…), or a file holding it");
  auto* nodes = cmd->add_option("--nodes", a->nodes_file,
                                "TOML file with the [[node]] tables (a gateway config will do)");
  auto* node =
      cmd->add_option("--node", a->node, "Instead of --nodes: the address (host:port) of one node");
  auto* fingerprint = cmd->add_option("--fingerprint", a->fingerprint,
                                      "With --node: the sha256:<hex> its certificate must have");
  auto* token = cmd->add_option("--token-file", a->token_file,
                                "With --node: a file holding the group's token at that node");
  nodes->excludes(node);
  node->needs(fingerprint)->needs(token);
  fingerprint->needs(node);
  token->needs(node);
  invite->excludes(nodes)->excludes(node)->excludes(fingerprint)->excludes(token);
  cmd->add_option("--into", a->into,
                  "New folder for the gateway (DIR/meta and DIR/gateway.toml are created), or "
                  "postgresql://… : an empty PostgreSQL database for the metadata")
      ->required();
  cmd->add_option("--config-dir", a->config_dir,
                  "With --into postgresql://…: new folder for gateway.toml (naming the database)");
  cmd->add_option("--password-file", a->password_file,
                  "With --into postgresql://…: the database password's file (0600), written "
                  "into gateway.toml as [metadata] password_file");
  cmd->add_flag("--drill", a->drill,
                "Check that the backup restores while the gateway still runs: the nodes are not "
                "fenced (do not start the restored folder while the old gateway runs)");
  cmd->add_option("--passphrase-fd", a->passphrase_fd,
                  "Read a passphrase-mode key file's passphrase (one line) from this descriptor");
  cmd->callback([a] {
    if (!a->invite.empty()) {
      if (absl::Status s = TakeInvite(*a); !s.ok()) FailCommand(2, s);
    }
    if (a->nodes_file.empty() && a->node.empty()) {
      throw CLI::ValidationError("--nodes, --node or --invite",
                                 "say where the nodes are: one is needed");
    }
    Resolve(*a);
    int code = Restore(*a);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace mosaic
