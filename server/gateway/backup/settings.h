#pragma once
// The gateway's settings carried sealed in the backup root (proto GatewaySettings), so that
// `mosaic restore` needs only the master key and one node (docs/architecture.md, "Restore"):
// the metadata backup job reads them at every cycle (they are as current as the backup, not
// as at setup time), and a restore writes them back as a complete gateway.toml that starts
// as it is, with the files it names copied into the restore folder.
//
// The settings hold the nodes' tokens and the S3 listener's private key: they are a
// credential, and leave the gateway only inside the sealed root (docs/threat-model.md).

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/rpc/node_pool.h"
#include "proto/mosaic/v1/backup.pb.h"
#include "server/gateway/meta/metadata_config.h"

namespace mosaic::gateway {

// Reads the config file at `config_path` and every file it names that a restored gateway
// needs: tls_cert_file, tls_key_file and each [[node]]'s tls_ca_file (paths as the gateway
// resolves them). NOT_FOUND or an errno status naming the file that cannot be read;
// INVALID_ARGUMENT if the text is not TOML. Blocks on file I/O; thread-safe.
[[nodiscard]] absl::StatusOr<v1::GatewaySettings> ReadGatewaySettings(
    const std::string& config_path);

// Appends to `settings`' config a [[node]] table for each node of `added` that it does not
// list (nodes added to the running gateway with `mosaic node add`, kept in the metadata, not
// in the config file), so that a restore from one node knows them too; their certificates
// are carried as files named "runtime-node/ID.crt". INVALID_ARGUMENT if the config is not
// TOML. Pure.
[[nodiscard]] absl::Status AddRuntimeNodes(const std::vector<client::NodeEndpoint>& added,
                                           v1::GatewaySettings& settings);

// Whether two settings hold the same config and files (the time they were read aside).
bool SameSettings(const v1::GatewaySettings& a, const v1::GatewaySettings& b);

struct RestoredConfig {
  std::string path;                // `into`/gateway.toml
  std::vector<std::string> notes;  // what was changed beyond the paths, for the operator
};

// Writes `settings` into folder `into` (created 0700 if missing) as `into`/gateway.toml
// (0600) with data_dir = `into` and key_file = `key_file` (both made absolute), the
// listener's certificate and key as `into`/tls/s3.crt and s3.key (0600), and each node's
// certificate as `into`/nodes/ID.crt. A [metadata] section naming PostgreSQL is left out (the
// restore writes RocksDB; a note says so) unless `metadata` names PostgreSQL: then the
// section is backend = "postgresql" with its dsn and password_file (made absolute), the
// backed-up section's other keys (pool size, timeouts) kept if it was PostgreSQL's too. The
// DSN is written into the 0600 config and nowhere else. Files this wrote before are replaced. The
// written config is checked with ParseGatewayConfig first: INVALID_ARGUMENT if it would not start,
// FAILED_PRECONDITION if the settings carry no config, DATA_LOSS if a file the config names
// is not among them; errno statuses naming the path for write failures. Blocks.
[[nodiscard]] absl::StatusOr<RestoredConfig> WriteRestoredConfig(
    const v1::GatewaySettings& settings, const std::string& into, const std::string& key_file,
    const MetadataConfig& metadata = MetadataConfig());

}  // namespace mosaic::gateway
