#include "server/gateway/listen_safety.h"

namespace mosaic::gateway {

bool IsLoopbackListen(std::string_view listen) {
  std::string_view host = listen;
  if (host.starts_with('[')) {
    size_t close = host.find(']');
    host = close == std::string_view::npos ? host.substr(1) : host.substr(1, close - 1);
  } else if (size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  if (host == "localhost" || host == "::1") return true;
  if (!host.starts_with("127.")) return false;
  // Only digits and dots after it: a name like 127.example.org is not loopback.
  return host.find_first_not_of("0123456789.") == std::string_view::npos;
}

std::string PlainHttpWarning(std::string_view what, std::string_view listen, bool tls) {
  if (tls || IsLoopbackListen(listen)) return "";
  return "WARNING: the " + std::string(what) + " listener serves plain HTTP on " +
         std::string(listen) +
         ", which is not a loopback address: object data, keys and metadata cross the network "
         "unencrypted. Give it a certificate (tls_cert_file and tls_key_file in the "
         "gateway's config) or listen on 127.0.0.1 behind an HTTPS reverse proxy (see the group "
         "guide).";
}

}  // namespace mosaic::gateway
