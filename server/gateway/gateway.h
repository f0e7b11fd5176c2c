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
namespace console {
class Console;
}

// Who a key belongs to: a console member's keys (and share links) name the member, end with
// them, and never do more than the member may do now; expires_ms (0 = never) ends the key.
struct KeyOwner {
  std::string member;
  int64_t expires_ms = 0;
};

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
  // The console's listener port; 0 when console_listen is not set.
  uint16_t console_port() const;
  // The console's members, teams and sessions (also without its listener, for the CLI).
  console::Console& console();
  // Stops accepting, finishes requests in progress (30 s at most), stops the jobs.
  void Stop();
  // Reloads the S3 listener's TLS certificate and key (SIGHUP); HttpServer::ReloadTls.
  [[nodiscard]] absl::Status ReloadTls();

  // Access keys: the secret is returned once and stored only sealed.
  [[nodiscard]] absl::StatusOr<NewKey> CreateKey(const std::string& name,
                                                 const std::vector<v1::Grant>& grants,
                                                 const KeyOwner& owner = {});
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
