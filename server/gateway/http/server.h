#pragma once
// The gateway's HTTP/1.1 server on Boost.Beast: keep-alive, streamed bodies both ways, a
// thread per request being served (see exchange.h), limits on connections (open, per client
// address, served at once), head time, header size, idle time and transfer time; plain HTTP
// or, given a certificate and key, HTTPS only (TLS 1.2 or later).
//
// A connection costs no thread until a whole request head has arrived: one I/O thread
// accepts, and reads the heads of every connection that is new or idle between requests, each
// under its deadline (head_timeout; idle_timeout between requests), over TLS its handshake too
// (within the head_timeout of a new connection). A connection that trickles a head or a
// handshake, or never sends one, holds a socket and a few KiB (a TLS one: its TLS state,
// about 70 KiB), and only until its deadline; the per-address limit bounds how many one
// client holds.
// Converts nothing to S3: handlers answer through the Exchange.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/gateway/http/exchange.h"

namespace mosaic::gateway {

struct HttpLimits {
  // Requests served at once, each on its own thread (more: 503 SlowDown).
  size_t max_connections = 256;
  // Sockets open at once, whatever they do (more: closed at once, 503 over plain HTTP).
  size_t max_open_connections = 4096;
  // Sockets open at once from one client address (more: closed at once).
  size_t max_connections_per_address = 128;
  // A request head must arrive whole within this of its first byte (of the accept, for a
  // connection's first request).
  std::chrono::milliseconds head_timeout{5000};
  size_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds idle_timeout{60000};      // waiting for the next request
  std::chrono::milliseconds transfer_timeout{60000};  // one read or write making no progress
  // One whole request, from its head to the end of its response, however steadily it
  // trickles: bounds what a slow client can hold.
  std::chrono::milliseconds request_timeout{std::chrono::hours(2)};
};

// TLS for a listener: PEM files read once at Start. Both empty = plain HTTP.
struct HttpTls {
  std::string cert_file;  // the certificate chain, the server's own certificate first
  std::string key_file;   // its private key
  bool enabled() const { return !cert_file.empty(); }
};

class HttpServer {
 public:
  // Called once per request on the connection's thread. Must answer (Send or SendHeaders) or
  // leave it to the server to answer 500 if it did not.
  using Handler = std::function<void(Exchange&)>;
  // Called for requests refused before a handler runs (too many connections, header too
  // large, malformed): status and a short reason; the handler can render them as S3 errors.
  using Rejecter = std::function<void(Exchange&, int status, const std::string& reason)>;

  // Binds `listen` ("127.0.0.1:9000", port 0 picks one) and starts accepting. With `tls`
  // enabled every connection must complete a TLS handshake within limits.head_timeout; a
  // plain HTTP request gets a plain-text 400 and is closed. INVALID_ARGUMENT naming the file
  // for a certificate or key that cannot be loaded or do not match; UNAVAILABLE if `listen`
  // cannot be bound.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const std::string& listen,
                                                                         HttpLimits limits,
                                                                         Handler handler,
                                                                         Rejecter rejecter,
                                                                         const HttpTls& tls = {});
  // Stop()s.
  ~HttpServer();

  uint16_t port() const;
  // Reads the TLS certificate and key files given at Start again (after they were renewed):
  // connections accepted from then on use them; those already open keep the old ones. On
  // an error (INVALID_ARGUMENT or NOT_FOUND naming the file, as Start) the listener keeps
  // what it had. FAILED_PRECONDITION for a plain HTTP listener. Thread-safe.
  [[nodiscard]] absl::Status ReloadTls();
  // Stops accepting, lets requests in progress finish (up to `grace`), then closes every
  // connection and joins the threads.
  void Stop(std::chrono::milliseconds grace = std::chrono::seconds(30));
  // Sockets open (waiting for a head, or served).
  size_t active_connections() const;
  // Requests being served, each on a thread (at most HttpLimits::max_connections). A slot is
  // given back when its thread ends, just after the response was sent.
  size_t serving_requests() const;

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mosaic::gateway
