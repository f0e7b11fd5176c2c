// `mosaic node --config FILE` and `mosaic node hash-token`.

#include <cstdio>
#include <iostream>
#include <string>

#include "common/sha256.h"
#include "server/commands.h"
#include "server/node/config.h"
#include "server/node/node_server.h"

namespace mosaic {

void AddNodeCommand(CLI::App& app) {
  CLI::App* node = app.add_subcommand("node", "Run a storage node, or manage one");
  auto config_path = std::make_shared<std::string>();
  node->add_option("--config,-c", *config_path, "Node configuration file (TOML)")
      ->check(CLI::ExistingFile);

  CLI::App* hash = node->add_subcommand(
      "hash-token", "Read a tenant token on stdin and print the SHA-256 the config stores");
  hash->callback([] {
    std::string token;
    std::getline(std::cin, token);
    if (token.empty()) throw CLI::ValidationError("hash-token", "no token on stdin");
    std::printf("%s\n", Sha256Hex(AsBytes(token)).c_str());
  });

  node->callback([node, hash, config_path] {
    if (hash->parsed()) return;
    if (config_path->empty()) throw CLI::RequiredError("--config");
    auto config = node::LoadNodeConfig(*config_path);
    if (!config.ok()) {
      std::fprintf(stderr, "mosaic node: %s\n", config.status().ToString().c_str());
      throw CLI::RuntimeError(2);
    }
    int rc = node::RunNode(*config);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace mosaic
