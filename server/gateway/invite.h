#pragma once
// A provider's invite (`mosaic node tenant add` prints it, `mosaic gateway node add` takes
// it): "mosaic-invite-1:" then base64url of a JSON object with the node's id, provider,
// address, certificate fingerprint and tenant token.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace mosaic::gateway {

struct Invite {
  std::string node_id, provider, address, fingerprint, token;
};

// INVALID_ARGUMENT when the text (trailing white space ignored) is not an invite, a field is
// missing or empty, or the fingerprint is not "sha256:<hex>".
[[nodiscard]] absl::StatusOr<Invite> ParseInvite(std::string_view text);

}  // namespace mosaic::gateway
