#pragma once
// The gateway's configuration file (TOML). deploy/gateway.toml documents every key.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/pipeline/pipeline.h"
#include "client/rpc/node_pool.h"
#include "server/gateway/http/server.h"
#include "server/gateway/meta/metadata_config.h"

namespace mosaic::gateway {

struct GatewayConfig {
  std::string listen = "127.0.0.1:9000";
  std::string admin_listen = "127.0.0.1:0";
  // The web console (docs/console.md): its listener ("" = no console), HTTPS with the S3
  // listener's certificate when tls is set; and the S3 address its share links point at
  // ("" = this gateway's `listen`), for gateways behind a proxy.
  std::string console_listen;
  std::string public_s3_url;
  std::string data_dir;
  std::string key_file;
  std::string region = "us-east-1";
  std::string domain;  // virtual-hosted-style domain; empty = path style only
  std::string log_level = "info";
  uint64_t max_object_bytes = uint64_t{5} << 30;
  // Multipart uploads: the smallest part but the last (S3's 5 MiB; not a TOML key), and how
  // long an upload may stay incomplete before the expiry job aborts it.
  uint64_t min_part_bytes = uint64_t{5} << 20;
  std::chrono::milliseconds multipart_expiry = std::chrono::hours(24 * 7);
  // Scrub and garbage (jobs/scrubber.h, jobs/orphan_sweeper.h). A chunk no metadata names
  // is deleted after orphan_grace; the sweep runs every orphan_sweep_interval (0 = never by
  // itself). The deep scrub reads every shard at deep_scrub_bytes_per_second, every
  // deep_scrub_interval (0 = only when asked).
  std::chrono::milliseconds orphan_grace = std::chrono::hours(24);
  std::chrono::milliseconds orphan_sweep_interval = std::chrono::hours(6);
  uint64_t deep_scrub_bytes_per_second = uint64_t{16} << 20;
  std::chrono::milliseconds deep_scrub_interval = std::chrono::hours(24 * 30);
  // Repair (jobs/repairer.h, jobs/failure_detector.h): rebuilt shards are written at most at
  // repair_bytes_per_second; a node unreachable for node_down_after is declared down and its
  // shards queued for repair, checked every failure_check_interval.
  uint64_t repair_bytes_per_second = uint64_t{64} << 20;
  int64_t repair_stripes_in_flight = 8;  // stripes repaired at once, 1..64
  std::chrono::milliseconds node_down_after = std::chrono::minutes(10);
  std::chrono::milliseconds failure_check_interval = std::chrono::seconds(30);
  // Metadata backup (jobs/metadata_backup.h): writes are on the nodes at most this long
  // after they were acknowledged (one backup cycle per backup_lag).
  std::chrono::milliseconds backup_lag = std::chrono::seconds(60);
  // Lifecycle rules (jobs/lifecycle.h) count days of this length. TEST ONLY: the TOML key
  // test_lifecycle_day shortens it so that integration tests see rules act in seconds; a
  // deployment never sets it (the gateway warns at start when it is set).
  std::chrono::milliseconds lifecycle_day = std::chrono::hours(24);
  // The S3 listener's TLS certificate chain and key (PEM; both or neither): when set, it
  // serves HTTPS only.
  HttpTls tls;
  HttpLimits http;
  // [metadata]: RocksDB in data_dir/meta (the default), or PostgreSQL.
  MetadataConfig metadata;
  client::PipelineOptions pipeline;
  std::vector<client::NodeEndpoint> nodes;
  // The file LoadGatewayConfig read (absolute; "" for a parsed text): the metadata backup
  // carries it and the files it names (backup/settings.h).
  std::string source_path;
};

// INVALID_ARGUMENT naming the key for anything malformed or missing; NOT_FOUND if the file
// (or a node's TLS CA file) is missing.
[[nodiscard]] absl::StatusOr<GatewayConfig> LoadGatewayConfig(const std::string& path);
[[nodiscard]] absl::StatusOr<GatewayConfig> ParseGatewayConfig(const std::string& toml_text);

// The [[node]] tables of a TOML file, parsed as in a gateway config; other keys are ignored,
// so a gateway config serves as well as a file of nodes only (`mosaic restore --nodes`).
// INVALID_ARGUMENT for a malformed node or none at all; NOT_FOUND if the file is missing.
[[nodiscard]] absl::StatusOr<std::vector<client::NodeEndpoint>> LoadNodeList(
    const std::string& path);

}  // namespace mosaic::gateway
