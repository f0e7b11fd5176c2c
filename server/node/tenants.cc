#include "server/node/tenants.h"

#include "common/sha256.h"

namespace mosaic::node {

TenantRegistry::TenantRegistry(const std::vector<TenantConfig>& tenants) { Replace(tenants); }

void TenantRegistry::Replace(const std::vector<TenantConfig>& tenants) {
  auto by_hash = std::make_unique<ByHash>();
  for (const TenantConfig& t : tenants) (*by_hash)[t.token_sha256] = t;
  std::lock_guard lock(mu_);
  generations_.push_back(std::move(by_hash));
}

absl::StatusOr<const TenantConfig*> TenantRegistry::Authenticate(
    const std::string& authorization) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.empty()) {
    return absl::UnauthenticatedError("missing authorization: send \"Bearer <tenant token>\"");
  }
  if (!authorization.starts_with(kBearer) || authorization.size() == kBearer.size()) {
    return absl::UnauthenticatedError("malformed authorization: expected \"Bearer <token>\"");
  }
  // The lookup is keyed by the token's hash, so its timing reveals nothing about tokens.
  std::string hash = Sha256Hex(AsBytes(std::string_view(authorization).substr(kBearer.size())));
  std::lock_guard lock(mu_);
  const ByHash& by_hash = *generations_.back();
  auto it = by_hash.find(hash);
  if (it == by_hash.end()) return absl::UnauthenticatedError("unknown tenant token");
  return &it->second;
}

}  // namespace mosaic::node
