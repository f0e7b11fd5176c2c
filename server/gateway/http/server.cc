// The server's side of the HTTP layer: it accepts sockets, admits them against the limits on
// open connections and per client address, reads request heads on its one I/O thread (a
// connection waiting for a head costs no thread, plain HTTP or TLS), and gives a connection
// with a whole head a thread of its own to serve it (internal/connection.h).
#include "server/gateway/http/server.h"

#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "common/metrics_server.h"
#include "common/status.h"
#include "common/thread_name.h"
#include "server/gateway/http/internal/connection.h"

namespace mosaic::gateway {

using internal::Connection;
using internal::MoveSocket;
using internal::SendAndClose;
using internal::Slot;
namespace asio = internal::asio;
namespace beast = internal::beast;
namespace ssl = internal::ssl;
using tcp = internal::tcp;

namespace {

// A TLS server context: TLS 1.2 or later, the certificate chain and its key.
absl::StatusOr<std::unique_ptr<ssl::context>> MakeTlsContext(const HttpTls& tls) {
  for (const auto& [what, path] :
       {std::pair{"certificate", &tls.cert_file}, std::pair{"key", &tls.key_file}}) {
    if (path->empty()) return absl::InvalidArgumentError(std::string("no TLS ") + what + " file");
    std::ifstream in(*path);
    if (!in) {
      return absl::NotFoundError(std::string("cannot read the TLS ") + what + " file " + *path +
                                 ": " + std::strerror(errno));
    }
  }
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                   ssl::context::single_dh_use);
  beast::error_code ec;
  ctx->use_certificate_chain_file(tls.cert_file, ec);
  if (ec) {
    return absl::InvalidArgumentError("cannot load the TLS certificate " + tls.cert_file + ": " +
                                      ec.message());
  }
  ctx->use_private_key_file(tls.key_file, ssl::context::pem, ec);
  if (ec || SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    return absl::InvalidArgumentError("cannot use the TLS key " + tls.key_file + " with " +
                                      tls.cert_file + ": " +
                                      (ec ? ec.message() : "it does not match the certificate"));
  }
  return ctx;
}

}  // namespace

// A plain HTTP connection waiting for a request head: its socket, a deadline and the bytes
// received so far, on the server's one I/O thread. It costs no thread of its own.
struct HeadWaiter {
  HeadWaiter(tcp::socket s, std::unique_ptr<Slot> sl)
      : socket(std::move(s)), timer(socket.get_executor()), slot(std::move(sl)) {}
  tcp::socket socket;
  asio::steady_timer timer;
  std::unique_ptr<Slot> slot;
  std::string received;
  std::array<char, 4096> chunk;
};

// A TLS connection waiting for its handshake and request head (new, or idle between
// requests), on the server's one I/O thread: the Connection, whose io_context that thread
// polls whenever `watch` (a duplicate of the connection's descriptor, registered with the I/O
// thread's context) becomes readable, and a deadline. No thread of its own.
struct TlsWaiter {
  TlsWaiter(std::unique_ptr<Connection> c, asio::io_context& ioc)
      : conn(std::move(c)), watch(ioc), timer(ioc) {}
  std::unique_ptr<Connection> conn;  // null once dropped or dispatched
  tcp::socket watch;
  asio::steady_timer timer;
  bool begun = false;  // bytes arrived: the head timeout runs
};

struct HttpServer::Impl {
  HttpLimits limits;
  Handler handler;
  Rejecter rejecter;
  HttpTls tls_files;
  std::shared_ptr<ssl::context> tls;  // null: plain HTTP; guarded by `mu` (ReloadTls)
  // The I/O thread's: accepting, and every head waiter (the only thread touching them).
  asio::io_context accept_ioc;
  tcp::acceptor acceptor{accept_ioc};
  asio::steady_timer accept_retry{accept_ioc};
  std::set<std::shared_ptr<HeadWaiter>> waiters;
  std::set<std::shared_ptr<TlsWaiter>> tls_waiters;
  std::thread accept_thread;
  std::mutex mu;
  std::condition_variable cv;
  std::set<Connection*> connections;
  size_t threads = 0;  // connections serving a request, each a thread
  size_t open = 0;     // sockets open, waiting or served
  std::map<std::string, size_t> per_address;
  bool stopping = false;
  std::atomic<bool> draining{false};  // `stopping`, readable by connections without `mu`
  uint16_t port = 0;

  void Accept();
  void Admit(tcp::socket socket);
  void WaitForHead(std::shared_ptr<HeadWaiter> w, std::chrono::milliseconds first_byte);
  void ReadHead(std::shared_ptr<HeadWaiter> w);
  void Drop(const std::shared_ptr<HeadWaiter>& w);
  void Dispatch(std::shared_ptr<HeadWaiter> w);
  void WaitForTlsHead(std::unique_ptr<Connection> c, std::chrono::milliseconds first_byte,
                      bool handshake);
  void PumpTls(const std::shared_ptr<TlsWaiter>& w);
  void DropTls(const std::shared_ptr<TlsWaiter>& w);
  void DispatchTls(const std::shared_ptr<TlsWaiter>& w);
  void Launch(std::unique_ptr<Connection> c);
  void Release(const std::string& address) {
    std::lock_guard lock(mu);
    --open;
    if (--per_address[address] == 0) per_address.erase(address);
  }
};

namespace internal {
Slot::~Slot() { server_->Release(address_); }
}  // namespace internal

namespace {

// The whole answer to a request refused for load, sent without a thread. The Content-Length
// is computed: a wrong one leaves clients waiting for bytes that never come.
const std::string& BusyAnswer() {
  static const std::string kBusy = [] {
    std::string body =
        "<Error><Code>SlowDown</Code><Message>Too many connections.</Message></Error>";
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\n"
           "Content-Length: " +
           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  }();
  return kBusy;
}

}  // namespace

void HttpServer::Impl::Accept() {
  acceptor.async_accept(accept_ioc, [this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      Admit(std::move(socket));
      return Accept();
    }
    // Out of file descriptors (or another transient failure): try again shortly rather
    // than spin on an error the next accept would repeat at once.
    accept_retry.expires_after(std::chrono::milliseconds(100));
    accept_retry.async_wait([this](beast::error_code e) {
      if (e != asio::error::operation_aborted) Accept();
    });
  });
}

// A new connection: counted against the open and per-address limits, then handed to a head
// waiter (plain HTTP) or a TLS waiter.
void HttpServer::Impl::Admit(tcp::socket socket) {
  beast::error_code ec;
  std::string address = socket.remote_endpoint(ec).address().to_string();
  if (ec) return;  // gone already
  {
    std::lock_guard lock(mu);
    bool full = stopping || open >= limits.max_open_connections ||
                per_address[address] >= limits.max_connections_per_address;
    if (full) {
      if (per_address[address] == 0) per_address.erase(address);
      // A TLS client would take the plain answer for a broken handshake: it only sees the
      // connection closed.
      SendAndClose(socket, tls_files.enabled() ? std::string() : BusyAnswer());
      return;
    }
    ++open;
    ++per_address[address];
  }
  // Responses go out as whole buffers (a head, then body blocks): Nagle's algorithm would
  // hold a small body written after its head until the client's delayed ACK, 40 ms.
  socket.set_option(tcp::no_delay(true), ec);
  auto slot = std::make_unique<Slot>(this, address);
  if (!tls_files.enabled()) {
    WaitForHead(std::make_shared<HeadWaiter>(std::move(socket), std::move(slot)),
                limits.head_timeout);
    return;
  }
  std::shared_ptr<ssl::context> context;
  {
    std::lock_guard lock(mu);
    context = tls;
  }
  auto ioc = std::make_unique<asio::io_context>(1);
  tcp::socket moved = MoveSocket(socket, *ioc);
  WaitForTlsHead(std::make_unique<Connection>(std::move(ioc), std::move(moved), std::move(context),
                                              limits, draining, std::move(slot)),
                 limits.head_timeout, true);
}

// Waits for the next request head: `first_byte` for it to begin (the idle timeout between
// requests; the head timeout for a new connection), then the head timeout for the whole head.
void HttpServer::Impl::WaitForHead(std::shared_ptr<HeadWaiter> w,
                                   std::chrono::milliseconds first_byte) {
  waiters.insert(w);
  w->timer.expires_after(first_byte);
  w->timer.async_wait([this, w](beast::error_code ec) {
    if (ec != asio::error::operation_aborted) Drop(w);
  });
  ReadHead(std::move(w));
}

void HttpServer::Impl::ReadHead(std::shared_ptr<HeadWaiter> w) {
  // The end of the head is there, or the head is too large (the parser answers 431), or it
  // cannot be HTTP at all (no method starts with that byte: the parser answers 400 now, not
  // at the head timeout; a TLS hello to the plain port is such a start).
  const std::string& r = w->received;
  bool not_http = !r.empty() && !absl::ascii_isalpha(static_cast<unsigned char>(r[0])) &&
                  r[0] != '\r' && r[0] != '\n';
  if (not_http || r.find("\r\n\r\n") != std::string::npos || r.size() > limits.max_header_bytes) {
    return Dispatch(std::move(w));
  }
  w->socket.async_read_some(asio::buffer(w->chunk), [this, w](beast::error_code ec, size_t n) {
    if (ec) return Drop(w);
    if (w->received.empty() && n > 0) {
      // The head has begun: from now on it has the head timeout to arrive whole.
      auto head_deadline = std::chrono::steady_clock::now() + limits.head_timeout;
      if (head_deadline < w->timer.expiry()) {
        w->timer.expires_at(head_deadline);
        w->timer.async_wait([this, w](beast::error_code e) {
          if (e != asio::error::operation_aborted) Drop(w);
        });
      }
    }
    w->received.append(w->chunk.data(), n);
    ReadHead(w);
  });
}

// Closes a waiting connection (its head did not come in time, the client left, or the
// server stops); its slot goes with the last reference.
void HttpServer::Impl::Drop(const std::shared_ptr<HeadWaiter>& w) {
  beast::error_code ignored;
  w->timer.cancel();
  w->socket.close(ignored);
  waiters.erase(w);
}

// A whole head arrived: the request gets a thread of its own, or 503 when max_connections
// requests are being served already.
void HttpServer::Impl::Dispatch(std::shared_ptr<HeadWaiter> w) {
  waiters.erase(w);
  w->timer.cancel();
  auto ioc = std::make_unique<asio::io_context>(1);
  std::lock_guard lock(mu);
  if (stopping || threads >= limits.max_connections) {
    SendAndClose(w->socket, BusyAnswer());
    return;
  }
  ++threads;
  tcp::socket moved = MoveSocket(w->socket, *ioc);
  Launch(std::make_unique<Connection>(std::move(ioc), std::move(moved), nullptr, limits, draining,
                                      std::move(w->slot), w->received));
}

// Waits for a TLS connection's next request head (after its handshake when `handshake`):
// `first_byte` for bytes to arrive (the idle timeout between requests; the head timeout for
// a new connection), then the head timeout for the whole head.
void HttpServer::Impl::WaitForTlsHead(std::unique_ptr<Connection> c,
                                      std::chrono::milliseconds first_byte, bool handshake) {
  auto w = std::make_shared<TlsWaiter>(std::move(c), accept_ioc);
  beast::error_code ec;
  auto protocol = w->conn->socket().local_endpoint(ec).protocol();
  int fd = ec ? -1 : ::dup(w->conn->native_handle());
  if (fd >= 0) w->watch.assign(protocol, fd, ec);
  if (fd >= 0 && ec) ::close(fd);
  if (fd < 0 || ec || draining) return;  // the connection closes with `w`
  tls_waiters.insert(w);
  w->timer.expires_after(first_byte);
  w->timer.async_wait([this, w](beast::error_code e) {
    if (e != asio::error::operation_aborted) DropTls(w);
  });
  w->conn->StartHead(handshake);
  PumpTls(w);
}

// Runs what is ready on the waiting connection's io_context; then dispatches it, or waits
// for its socket to become readable again. The watch is armed before the next epoll wait of
// this thread, so bytes that arrive meanwhile wake it.
void HttpServer::Impl::PumpTls(const std::shared_ptr<TlsWaiter>& w) {
  if (w->conn->PollHead()) return DispatchTls(w);
  w->watch.async_wait(tcp::socket::wait_read, [this, w](beast::error_code ec) {
    if (!w->conn) return;  // dropped meanwhile
    if (ec) return DropTls(w);
    if (!w->begun) {
      // The head (or the handshake) has begun: from now on, the head timeout.
      w->begun = true;
      auto head_deadline = std::chrono::steady_clock::now() + limits.head_timeout;
      if (head_deadline < w->timer.expiry()) {
        w->timer.expires_at(head_deadline);
        w->timer.async_wait([this, w](beast::error_code e) {
          if (e != asio::error::operation_aborted) DropTls(w);
        });
      }
    }
    PumpTls(w);
  });
}

// Closes a waiting TLS connection (no handshake or head in time, the client left, or the
// server stops); its slot goes with it.
void HttpServer::Impl::DropTls(const std::shared_ptr<TlsWaiter>& w) {
  beast::error_code ignored;
  w->timer.cancel();
  w->watch.close(ignored);
  if (w->conn) w->conn->Close();
  w->conn.reset();
  tls_waiters.erase(w);
}

// The handshake and head are in (or failed): a thread serves the request (or refuses a
// malformed head), unless max_connections are being served (closed: a 503 would need TLS).
void HttpServer::Impl::DispatchTls(const std::shared_ptr<TlsWaiter>& w) {
  std::unique_ptr<Connection> c = std::move(w->conn);
  DropTls(w);
  if (!c->HeadWantsThread()) return;
  std::lock_guard lock(mu);
  if (stopping || threads >= limits.max_connections) return;  // closed (slot: after `mu`)
  ++threads;
  Launch(std::move(c));
}

// Starts the thread of `c` (counted in `threads` by the caller); called with `mu` held.
// Registered before its thread starts, under the same lock as the count: a Stop() that
// comes in between sees the connection and can shut it down.
void HttpServer::Impl::Launch(std::unique_ptr<Connection> c) {
  connections.insert(c.get());
  std::thread([this, c = std::move(c)]() mutable {
    SetCurrentThreadName("http-conn");
    Connection* served = c.get();
    bool idle = c->Serve(handler, rejecter);
    std::shared_ptr<HeadWaiter> parked;
    if (idle && !c->tls()) {
      auto [socket, slot] = c->Park(accept_ioc);
      parked = std::make_shared<HeadWaiter>(std::move(socket), std::move(slot));
    }
    {
      std::lock_guard lock(mu);
      connections.erase(served);
      if (parked && !stopping) {
        asio::post(accept_ioc, [this, parked] { WaitForHead(parked, limits.idle_timeout); });
      } else if (idle && c->tls() && !stopping) {
        asio::post(accept_ioc, [this, t = std::move(c)]() mutable {
          WaitForTlsHead(std::move(t), limits.idle_timeout, false);
        });
      }
    }
    // Outside `mu`, which the slots' destructors take: a connection not handed over is
    // closed here (its last reference), and the served one's socket, if not parked.
    parked.reset();
    c.reset();
    std::lock_guard lock(mu);
    --threads;
    cv.notify_all();
  }).detach();
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& listen,
                                                              HttpLimits limits, Handler handler,
                                                              Rejecter rejecter,
                                                              const HttpTls& tls) {
  ASSIGN_OR_RETURN(auto host_port, metrics::SplitHostPort(listen));
  auto impl = std::make_unique<Impl>();
  if (tls.enabled() || !tls.key_file.empty()) {
    ASSIGN_OR_RETURN(impl->tls, MakeTlsContext(tls));
    impl->tls_files = tls;
  }
  impl->limits = limits;
  impl->handler = std::move(handler);
  impl->rejecter = std::move(rejecter);
  beast::error_code ec;
  auto address = asio::ip::make_address(host_port.first, ec);
  if (ec) return absl::InvalidArgumentError("bad listen address \"" + listen + "\"");
  tcp::endpoint endpoint(address, host_port.second);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return absl::UnavailableError("cannot listen on " + listen + ": " + ec.message());
  impl->port = impl->acceptor.local_endpoint(ec).port();
  impl->Accept();
  impl->accept_thread = std::thread([raw = impl.get()] {
    SetCurrentThreadName("http-accept");
    raw->accept_ioc.run();
  });
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

// Kept from Start(): asking the acceptor would throw once Stop() has closed it.
uint16_t HttpServer::port() const { return impl_->port; }

absl::Status HttpServer::ReloadTls() {
  if (!impl_->tls_files.enabled()) {
    return absl::FailedPreconditionError("the listener serves plain HTTP");
  }
  ASSIGN_OR_RETURN(std::shared_ptr<ssl::context> fresh, MakeTlsContext(impl_->tls_files));
  std::lock_guard lock(impl_->mu);
  impl_->tls = std::move(fresh);
  return absl::OkStatus();
}

size_t HttpServer::active_connections() const {
  std::lock_guard lock(impl_->mu);
  return impl_->open;
}

size_t HttpServer::serving_requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->threads;
}

void HttpServer::Stop(std::chrono::milliseconds grace) {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopping) return;
    impl_->stopping = true;
    impl_->draining = true;
  }
  asio::post(impl_->accept_ioc, [this] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
    impl_->accept_retry.cancel();
    // Connections waiting for a head are idle: closed at once.
    for (auto waiters = impl_->waiters; const auto& w : waiters) impl_->Drop(w);
    for (auto waiters = impl_->tls_waiters; const auto& w : waiters) impl_->DropTls(w);
  });
  impl_->accept_thread.join();
  std::unique_lock lock(impl_->mu);
  // Idle keep-alive connections are closed at once; requests in progress get `grace`. Each
  // connection shuts its own socket down, on its own thread (Interrupt): `mu` keeps it alive
  // meanwhile (a connection leaves `connections` under `mu` before it is destroyed), and one
  // that leaves after this sees `stopping` and is not handed back to the I/O thread, so the
  // shutdown never reaches a socket that has moved on.
  for (Connection* c : impl_->connections) {
    if (!c->busy) c->Interrupt();
  }
  impl_->cv.wait_for(lock, grace, [&] { return impl_->threads == 0; });
  // Whoever is left is idle or stuck: cut them off (the shutdown wakes their I/O).
  for (Connection* c : impl_->connections) c->Interrupt();
  impl_->cv.wait(lock, [&] { return impl_->threads == 0; });
}

}  // namespace mosaic::gateway
