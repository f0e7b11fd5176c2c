#pragma once
// Tenants of a node and their authentication. A tenant proves itself with a bearer token;
// the node stores only the token's SHA-256, so its config and disks do not reveal tokens.
// Tokens are long random strings, so a plain hash suffices (no password stretching).

#include <map>
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

 private:
  std::map<std::string, TenantConfig> by_hash_;
};

}  // namespace mosaic::node
