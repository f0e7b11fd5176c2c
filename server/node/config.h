#pragma once
// The node's configuration file (TOML). deploy/node.toml documents every key.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/node/store/segment_store.h"

namespace mosaic::node {

// Chunks a tenant may hold on a node unless its [[tenant]] table says otherwise: room for
// millions of small objects, while bounding the index a tenant can make the node keep.
inline constexpr uint64_t kDefaultMaxChunksPerTenant = 10'000'000;

struct TenantConfig {
  std::string name;
  std::string token_sha256;  // lower-case hex
  uint64_t quota_bytes = 0;  // charged bytes (records and index), 0 = unlimited
  uint64_t max_chunks = kDefaultMaxChunksPerTenant;  // 0 = unlimited
};

struct NodeConfig {
  std::string node_id = "node";
  // Who runs the node and the address groups reach it at (written by `mosaic node init`,
  // read by `mosaic node tenant add` for the invite; the node itself does not use them).
  std::string provider;
  std::string advertise;
  std::string listen = "127.0.0.1:7400";
  std::string metrics_listen;
  std::string log_level = "info";
  std::string tls_cert;
  std::string tls_key;
  bool plaintext = false;
  StoreOptions store;                            // store.dir is data_dir
  io::IoEngine io_engine = io::IoEngine::kAuto;  // storage.io_engine
  std::vector<TenantConfig> tenants;
};

// Reads and validates `path`. INVALID_ARGUMENT naming the key for anything malformed or
// missing (no data_dir, neither TLS files nor plaintext = true, a bad size, a duplicate
// tenant or token), NOT_FOUND if the file is missing.
[[nodiscard]] absl::StatusOr<NodeConfig> LoadNodeConfig(const std::string& path);

// The same from TOML text, for tests.
[[nodiscard]] absl::StatusOr<NodeConfig> ParseNodeConfig(const std::string& toml_text);

}  // namespace mosaic::node
