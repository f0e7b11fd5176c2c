#pragma once
// Whether a listener exposes plain HTTP beyond this machine: S3 requests carry SigV4
// signatures but their bodies (the objects) and the admin-visible metadata travel in clear,
// so the gateway warns at every start when one does (HTTPS with tls_cert_file/tls_key_file, or
// a reverse proxy). Pure; thread-safe.

#include <string>
#include <string_view>

namespace mosaic::gateway {

// True for a listen address ("host:port", "[v6]:port") whose host is a loopback address
// (127.0.0.0/8, ::1, "localhost"); false for wildcard (0.0.0.0, ::, empty) or any other
// host, names included (they may resolve anywhere).
bool IsLoopbackListen(std::string_view listen);

// The warning to log when listener `what` ("S3", "console") serves plain HTTP on `listen`
// (`tls` false) at an address that is not loopback; "" otherwise.
std::string PlainHttpWarning(std::string_view what, std::string_view listen, bool tls);

}  // namespace mosaic::gateway
