#pragma once
// Sealing of small metadata values (access-key secrets now, metadata backups later) under the
// metadata subkey of a KeyRing: XChaCha20-Poly1305 with a random nonce. Format:
// version (1) ‖ nonce (24) ‖ ciphertext ‖ tag (16). `aad` binds the value to its place
// (e.g. the access key id), so a sealed value cannot be moved to another record.
// Thread-safe.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "client/crypto/key_ring.h"

namespace mosaic::client {

std::string SealMetadata(const KeyRing& ring, std::string_view plaintext, std::string_view aad);

// DATA_LOSS if the tag fails (altered, wrong key, or other aad); INVALID_ARGUMENT if the
// bytes are not a sealed value of this format.
[[nodiscard]] absl::StatusOr<std::string> OpenMetadata(const KeyRing& ring, std::string_view sealed,
                                                       std::string_view aad);

}  // namespace mosaic::client
