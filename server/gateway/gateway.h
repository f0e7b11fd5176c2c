#pragma once
// The S3 gateway: wires the metadata store, the master key, the node pool and the object
// pipeline to the S3 listener, runs the deletion queue, and serves the admin listener
// (/health, /metrics, /admin/v1/keys). Thread-safe.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/crypto/key_ring.h"
#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/config.h"

namespace mosaic::gateway {

class Scrubber;
class OrphanSweeper;
class StatusService;
class NodeStates;

struct NewKey {
  std::string id;
  std::string secret;
};

class Gateway {
 public:
  // Opens everything and starts serving with the master key `ring` (client::OpenKeyFile of
  // config.key_file). Errors name what failed.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Gateway>> Start(const GatewayConfig& config,
                                                                      client::KeyRing ring);
  ~Gateway();  // Stop()s

  uint16_t port() const;
  uint16_t admin_port() const;
  // Stops accepting, finishes requests in progress (30 s at most), stops the jobs.
  void Stop();
  // Reloads the S3 listener's TLS certificate and key (SIGHUP); HttpServer::ReloadTls.
  [[nodiscard]] absl::Status ReloadTls();

  // Access keys: the secret is returned once and stored only sealed.
  [[nodiscard]] absl::StatusOr<NewKey> CreateKey(const std::string& name,
                                                 const std::vector<v1::Grant>& grants);
  [[nodiscard]] absl::StatusOr<std::vector<v1::AccessKeyRecord>> ListKeys() const;
  [[nodiscard]] absl::StatusOr<bool> DeleteKey(const std::string& id);

  // The scrub and orphan-sweep jobs (for the admin API).
  Scrubber& scrubber();
  OrphanSweeper& sweeper();

  // `mosaic status` and node states (for the admin API).
  StatusService& status();
  NodeStates& node_states();

  struct Impl;

 private:
  explicit Gateway(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Runs `mosaic gateway --config FILE` with the opened key until SIGTERM/SIGINT; returns the
// exit code.
int RunGateway(const GatewayConfig& config, client::KeyRing ring);

}  // namespace mosaic::gateway
