#pragma once
// Serves a Registry at GET /metrics over plain HTTP/1.1 on its own thread (Boost.Beast).
// Other paths answer 404, other methods 405. Each connection has a 10 s deadline, so a slow
// or idle client cannot hold the thread. Intended for a loopback or monitoring network.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/metrics.h"

namespace mosaic::metrics {

class MetricsServer {
 public:
  // Binds `listen` ("127.0.0.1:9100"; port 0 picks a free one) and starts serving.
  // INVALID_ARGUMENT for a malformed address, UNAVAILABLE if it cannot bind.
  // `registry` must outlive the server.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(
      Registry& registry, const std::string& listen);
  ~MetricsServer();  // Stops serving and joins the thread.

  uint16_t port() const;

 private:
  struct Impl;
  explicit MetricsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Splits "host:port" ("[::1]:80" for IPv6). INVALID_ARGUMENT if malformed.
[[nodiscard]] absl::StatusOr<std::pair<std::string, uint16_t>> SplitHostPort(
    const std::string& address);

}  // namespace mosaic::metrics
