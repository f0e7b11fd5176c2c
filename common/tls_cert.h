#pragma once
// TLS identities for the onboarding commands (OpenSSL): a node's key and self-signed
// certificate, the certificate's fingerprint, and the certificate a server presents.
// Domain-free: nothing here knows what a node or a gateway is. Thread-safe (no state).

#include <chrono>
#include <string>

#include "absl/status/statusor.h"

namespace mosaic::tls {

struct KeyAndCertificate {
  std::string key_pem;   // PKCS#8 private key (EC P-256)
  std::string cert_pem;  // self-signed X.509 certificate
};

// A new EC P-256 key and a certificate for `host` that it signs itself, valid ten years:
// CN = host, subjectAltName IP:host when `host` is an IP address, else DNS:host.
// INVALID_ARGUMENT for an empty host; INTERNAL if OpenSSL fails.
[[nodiscard]] absl::StatusOr<KeyAndCertificate> MakeSelfSigned(const std::string& host);

// "sha256:<64 lower-case hex>" of the DER of the first certificate in `cert_pem`.
// INVALID_ARGUMENT when `cert_pem` holds no certificate.
[[nodiscard]] absl::StatusOr<std::string> Fingerprint(const std::string& cert_pem);

// True for "sha256:" followed by 64 lower-case hex digits.
bool IsFingerprint(const std::string& text);

// Connects to `address` (host:port, [v6]:port), completes a TLS handshake without verifying
// anything, and returns the certificate the server presented, as PEM. Blocks up to about
// `timeout` per step. UNAVAILABLE when the server cannot be reached or the handshake fails;
// INVALID_ARGUMENT for a malformed address.
[[nodiscard]] absl::StatusOr<std::string> FetchCertificate(const std::string& address,
                                                           std::chrono::milliseconds timeout);

}  // namespace mosaic::tls
