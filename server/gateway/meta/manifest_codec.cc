#include "server/gateway/meta/manifest_codec.h"

#include <cstring>

namespace mosaic::gateway {

v1::Manifest ToProto(const client::ObjectManifest& m) {
  v1::Manifest p;
  p.set_size(m.size);
  p.set_stripe_bytes(m.stripe_bytes);
  p.set_k(m.k);
  p.set_m(m.m);
  p.set_algorithm(static_cast<uint32_t>(m.algorithm));
  p.set_wrapped_key(m.wrapped_key);
  p.set_object_id(reinterpret_cast<const char*>(m.object_id.data()), m.object_id.size());
  for (const auto& s : m.stripes) {
    auto* ps = p.add_stripes();
    for (const auto& node : s.nodes) ps->add_nodes(node);
  }
  return p;
}

absl::StatusOr<client::ObjectManifest> FromProto(const v1::Manifest& p) {
  client::ObjectManifest m;
  // k and m are bounded one by one before they are added: uint32 k + m can wrap to 0.
  if (p.object_id().size() != m.object_id.size() || p.k() < 1 || p.k() > 32 || p.m() > 32 ||
      p.k() + p.m() > 32 || p.stripe_bytes() == 0) {
    return absl::DataLossError("stored manifest is malformed");
  }
  if (p.algorithm() != static_cast<uint32_t>(client::SealAlgorithm::kAes256Gcm) &&
      p.algorithm() != static_cast<uint32_t>(client::SealAlgorithm::kXChaCha20Poly1305)) {
    return absl::DataLossError("stored manifest: unknown seal algorithm " +
                               std::to_string(p.algorithm()));
  }
  m.size = p.size();
  m.stripe_bytes = p.stripe_bytes();
  m.k = static_cast<int>(p.k());
  m.m = static_cast<int>(p.m());
  m.algorithm = static_cast<client::SealAlgorithm>(p.algorithm());
  m.wrapped_key = p.wrapped_key();
  std::memcpy(m.object_id.data(), p.object_id().data(), m.object_id.size());
  for (const auto& ps : p.stripes()) {
    if (static_cast<uint32_t>(ps.nodes_size()) != p.k() + p.m()) {
      return absl::DataLossError("stored manifest: a stripe does not name k+m nodes");
    }
    m.stripes.push_back({{ps.nodes().begin(), ps.nodes().end()}});
  }
  return m;
}

}  // namespace mosaic::gateway
