// `mosaic restore --key FILE --nodes FILE --into DIR`: rebuilds a gateway's metadata folder
// from the backup on the nodes (backup/restore.h). Exit 0 when restored (missing shards are
// reported, not fatal), 1 when no backup was found or it could not be read, 2 for bad
// arguments.

#include <cstdio>

#include "client/crypto/key_file.h"
#include "client/pipeline/pipeline.h"
#include "client/rpc/node_pool.h"
#include "server/commands.h"
#include "server/gateway/backup/restore.h"
#include "server/gateway/config.h"

namespace mosaic {
namespace {

int Restore(const std::string& key_file, int passphrase_fd, const std::string& nodes_file,
            const std::string& into) {
  if (std::string warning = client::KeyFileModeWarning(key_file); !warning.empty()) {
    std::fprintf(stderr, "mosaic restore: warning: %s\n", warning.c_str());
  }
  // A passphrase-mode key file: as for the gateway, or the first line of stdin.
  auto ring = client::OpenKeyFile(key_file, client::ProcessPassphraseSources(passphrase_fd, true));
  if (!ring.ok()) {
    std::fprintf(stderr, "mosaic restore: %s\n", std::string(ring.status().message()).c_str());
    return 2;
  }
  auto nodes = gateway::LoadNodeList(nodes_file);
  if (!nodes.ok()) {
    std::fprintf(stderr, "mosaic restore: %s\n", nodes.status().ToString().c_str());
    return 2;
  }
  client::NodePool pool(*nodes, client::RpcOptions());
  client::Pipeline pipeline(*ring, pool, client::PipelineOptions());
  auto report = gateway::RestoreMetadata(pipeline, into, [](const std::string& line) {
    std::printf("restore: %s\n", line.c_str());
    std::fflush(stdout);
  });
  if (!report.ok()) {
    std::fprintf(stderr, "mosaic restore: %s\n", std::string(report.status().message()).c_str());
    return 1;
  }
  std::printf("%s", gateway::RestoreSummary(*report).c_str());
  std::printf("start a gateway with data_dir = \"%s\" and the same key file to serve it\n",
              into.c_str());
  return 0;
}

}  // namespace

void AddRestoreCommand(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "restore", "Rebuild a gateway's metadata from the backup on the nodes (key + node list)");
  auto key = std::make_shared<std::string>();
  auto nodes = std::make_shared<std::string>();
  auto into = std::make_shared<std::string>();
  auto passphrase_fd = std::make_shared<int>(-1);
  cmd->add_option("--key", *key, "The master key file")->required();
  cmd->add_option("--nodes", *nodes,
                  "TOML file with the [[node]] tables (a gateway config will do)")
      ->required();
  cmd->add_option("--into", *into, "New data folder for the gateway (DIR/meta is created)")
      ->required();
  cmd->add_option("--passphrase-fd", *passphrase_fd,
                  "Read a passphrase-mode key file's passphrase (one line) from this descriptor");
  cmd->callback([=] {
    int code = Restore(*key, *passphrase_fd, *nodes, *into);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace mosaic
