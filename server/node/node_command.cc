// `mosaic node --config FILE` and `mosaic node hash-token`.

#include <cstdio>
#include <iostream>
#include <string>

#include "common/sha256.h"
#include "common/toml_config.h"
#include "server/commands.h"
#include "server/node/config.h"
#include "server/node/node_server.h"

namespace mosaic {

void AddNodeCommand(CLI::App& app) {
  CLI::App* node = app.add_subcommand("node", "Run a storage node, or manage one");
  auto config_path = std::make_shared<std::string>();
  // No CLI::ExistingFile check: LoadNodeConfig's error is one line naming the file.
  node->add_option("--config,-c", *config_path, "Node configuration file (TOML)");

  CLI::App* hash = node->add_subcommand(
      "hash-token", "Read a tenant token on stdin and print the SHA-256 the config stores");
  hash->callback([] {
    std::string token;
    std::getline(std::cin, token);
    if (token.empty()) throw CLI::ValidationError("hash-token", "no token on stdin");
    std::printf("%s\n", Sha256Hex(AsBytes(token)).c_str());
  });

  AddNodeOnboardCommands(*node);

  node->callback([node, config_path] {
    if (!node->get_subcommands().empty()) return;  // hash-token, init, tenant, add, …
    if (config_path->empty()) throw CLI::RequiredError("--config");
    absl::StatusOr<node::NodeConfig> config = node::LoadNodeConfig(*config_path);
    if (config.ok() && !config->tls_cert.empty()) {  // the config has both or neither
      absl::Status s = config::CheckReadable(*config_path, "tls.cert", config->tls_cert);
      if (s.ok()) s = config::CheckReadable(*config_path, "tls.key", config->tls_key);
      if (!s.ok()) config = s;
    }
    if (!config.ok()) {
      std::fprintf(stderr, "mosaic node: %s\n", std::string(config.status().message()).c_str());
      throw CLI::RuntimeError(2);
    }
    int rc = node::RunNode(*config, *config_path);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace mosaic
