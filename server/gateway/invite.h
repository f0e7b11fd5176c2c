#pragma once
// A provider's invite (`mosaic node tenant add` prints it, `mosaic gateway node add` takes
// it): "mosaic-invite-1:" then base64url of a JSON object with the node's id, provider,
// address, certificate fingerprint and tenant token.

#include <chrono>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "client/rpc/node_pool.h"

namespace mosaic::gateway {

struct Invite {
  std::string node_id, provider, address, fingerprint, token;
};

// INVALID_ARGUMENT when the text (trailing white space ignored) is not an invite, a field is
// missing or empty, or the fingerprint is not "sha256:<hex>".
[[nodiscard]] absl::StatusOr<Invite> ParseInvite(std::string_view text);

// The endpoint of the invite's node with its certificate pinned: the certificate the node
// presents (fetched within about `timeout`, blocking) must have the invite's fingerprint; it
// becomes the endpoint's tls_ca_pem. `mosaic gateway node add` and the console's "Add node"
// both take this path. UNAVAILABLE when the certificate cannot be fetched; FAILED_PRECONDITION
// when the node presents another certificate (the message names both fingerprints).
[[nodiscard]] absl::StatusOr<client::NodeEndpoint> PinnedEndpoint(
    const Invite& invite, std::chrono::milliseconds timeout);

}  // namespace mosaic::gateway
