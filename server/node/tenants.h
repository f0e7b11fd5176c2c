#pragma once
// Tenants of a node and their authentication. A tenant proves itself with a bearer token;
// the node stores only the token's SHA-256, so its config and disks do not reveal tokens.
// Tokens are long random strings, so a plain hash suffices (no password stretching).
// The tenant list can be replaced while the node serves (`mosaic node tenant add` signals
// SIGHUP); a pointer Authenticate returned stays valid for the registry's life, because
// replaced lists are kept (a few bytes per reload).

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/node/config.h"

namespace mosaic::node {

class TenantRegistry {
 public:
  explicit TenantRegistry(const std::vector<TenantConfig>& tenants);

  // Finds the tenant of an "authorization" header value ("Bearer <token>").
  // UNAUTHENTICATED if it is missing, malformed or unknown. Thread-safe.
  [[nodiscard]] absl::StatusOr<const TenantConfig*> Authenticate(
      const std::string& authorization) const;

  // Serves `tenants` from now on. Thread-safe.
  void Replace(const std::vector<TenantConfig>& tenants);

 private:
  using ByHash = std::map<std::string, TenantConfig>;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<const ByHash>> generations_;  // the last one is current
};

}  // namespace mosaic::node
