#include "server/gateway/http/server.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <utility>
#include <variant>

#include "absl/strings/ascii.h"
#include "common/metrics_server.h"
#include "common/status.h"

namespace mosaic::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

namespace {

std::string NewRequestId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string id(16, '0');
  uint64_t v = rng();
  for (char& c : id) {
    c = kHex[v & 0xf];
    v >>= 4;
  }
  return id;
}

// Beast reads at most the free capacity of the connection's buffer per read (at least 512
// bytes, at most 64 KiB for HTTP). The buffer keeps whatever capacity the request head needed
// and the parser empties it after every read, so without room reserved here request bodies
// arrive 512 bytes per recvmsg, each with its timer re-armed (about 10 CPU s per GiB).
constexpr size_t kReadBufferBytes = 64 * 1024;

// What a client that speaks plain HTTP to the HTTPS listener gets, unencrypted.
const std::string& PlainHttpOnTlsPort() {
  static const std::string kAnswer = [] {
    std::string body = "This port speaks HTTPS only.\n";
    return "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  }();
  return kAnswer;
}

// Sends `bytes` on a socket without blocking and closes it (answers given outside HTTP).
void SendAndClose(tcp::socket& socket, const std::string& bytes) {
  beast::error_code ignored;
  socket.non_blocking(true, ignored);
  socket.send(asio::buffer(bytes), 0, ignored);
  socket.close(ignored);
}

// A connection's share of the server's limits (open connections, per client address): held
// by whatever owns the connection's socket (a head waiter, then a Connection, then a head
// waiter again), given back when the socket closes. Defined after HttpServer::Impl.
class Slot {
 public:
  Slot(HttpServer::Impl* server, std::string address)
      : server_(server), address_(std::move(address)) {}
  ~Slot();
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;

 private:
  HttpServer::Impl* server_;
  std::string address_;
};

// `socket`, moved to io_context `ioc` (a connection's own, or the head waiters'): the same
// descriptor, registered with the other context. Closed on failure.
tcp::socket MoveSocket(tcp::socket& socket, asio::io_context& ioc) {
  beast::error_code ec;
  auto protocol = socket.local_endpoint(ec).protocol();
  tcp::socket moved(ioc);
  int fd = ec ? -1 : socket.release(ec);
  if (fd >= 0 && !ec) moved.assign(protocol, fd, ec);
  if (fd >= 0 && ec) ::close(fd);
  return moved;
}

// One connection while it has a request to serve: its own io_context, thread and stream.
// A plain HTTP connection arrives with its first head read already (by the server's head
// waiter, which costs no thread) and goes back to it when idle between requests; a TLS one
// keeps its thread from the handshake to the end.
class Connection final : public Exchange {
 public:
  // `draining` (owned by the server, outlives the connection) turns true when the server
  // stops: the request in progress is answered with Connection: close, and no other is read.
  // `tls` is null for plain HTTP; the connection keeps the context it started with, even
  // when the server's certificate is reloaded meanwhile.
  // `received`: bytes already read from the socket (the head a head waiter read).
  Connection(std::unique_ptr<asio::io_context> ioc, tcp::socket socket,
             std::shared_ptr<ssl::context> tls, const HttpLimits& limits,
             const std::atomic<bool>& draining, std::unique_ptr<Slot> slot,
             std::string_view received = {})
      : ioc_(std::move(ioc)),
        slot_(std::move(slot)),
        tls_(std::move(tls)),
        stream_(tls_ ? Stream(std::in_place_type<TlsStream>, std::move(socket), *tls_)
                     : Stream(std::in_place_type<beast::tcp_stream>, std::move(socket))),
        limits_(limits),
        draining_(draining) {
    buffer_.reserve(std::max(kReadBufferBytes, received.size()));
    auto room = buffer_.prepare(received.size());
    std::memcpy(room.data(), received.data(), received.size());
    buffer_.commit(received.size());
  }

  // Serves requests until the client closes, an error, or Connection: close; closes the
  // connection then. Returns true instead when a plain HTTP connection is idle between
  // requests (kept alive, nothing more received): Park() hands it back to a head waiter.
  bool Serve(const HttpServer::Handler& handler, const HttpServer::Rejecter& reject);
  // After Serve returned true: the socket, moved to `ioc` (the head waiters'), and the slot.
  std::pair<asio::ip::tcp::socket, std::unique_ptr<Slot>> Park(asio::io_context& ioc);
  int native_handle() { return tcp().socket().native_handle(); }
  // True while a request is being handled (between its head and its response's end).
  std::atomic<bool> busy{false};

  const RequestView& request() const override { return view_; }
  const std::string& request_id() const override { return id_; }
  std::optional<uint64_t> content_length() const override;
  absl::StatusOr<size_t> ReadBody(ByteSpan out) override;
  void SetHeader(const std::string& name, const std::string& value) override {
    if (!IsSafeHeaderValue(value) || !IsSafeHeaderValue(name)) {
      unsafe_header_ = name;
      return;
    }
    headers_.emplace_back(name, value);
  }
  absl::Status Send(int status, const std::string& body) override;
  absl::Status SendHeaders(int status, uint64_t content_length) override;
  absl::Status SendBody(ConstByteSpan bytes) override;
  bool response_started() const override { return started_; }
  void Abort() override {
    aborted_ = true;
    keep_alive_ = false;
  }

 private:
  using Stream = std::variant<beast::tcp_stream, TlsStream>;

  // The TCP layer, under TLS or not: deadlines and the socket.
  beast::tcp_stream& tcp() {
    return std::visit([](auto& s) -> beast::tcp_stream& { return beast::get_lowest_layer(s); },
                      stream_);
  }

  // Runs one asynchronous operation to completion on this thread, with a deadline.
  // `start(stream, callback)` starts it on the connection's stream (TCP or TLS).
  template <typename Start>
  beast::error_code Run(std::chrono::milliseconds timeout, Start start) {
    beast::error_code result = asio::error::would_block;
    if (request_deadline_) {  // never past the whole request's deadline
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          *request_deadline_ - std::chrono::steady_clock::now());
      timeout = std::max(std::chrono::milliseconds(0), std::min(timeout, left));
    }
    tcp().expires_after(timeout);
    auto done = [&result](beast::error_code ec, size_t) { result = ec; };
    std::visit([&](auto& stream) { start(stream, done); }, stream_);
    ioc_->restart();
    ioc_->run();
    return result;
  }
  bool Handshake();
  void ShutdownTls();
  absl::Status Failed(beast::error_code ec, const char* what);
  bool ReadRequest(const HttpServer::Rejecter& reject);
  void FinishResponse();
  template <typename Response>
  void Decorate(Response& res, int status);
  absl::Status SendContinue();
  bool ExpectsContinue() const;
  absl::Status RefuseUnsafeHeader();

  std::unique_ptr<asio::io_context> ioc_;
  std::unique_ptr<Slot> slot_;
  std::shared_ptr<ssl::context> tls_;
  Stream stream_;
  HttpLimits limits_;
  const std::atomic<bool>& draining_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::buffer_body>> parser_;
  RequestView view_;
  std::string id_;
  std::vector<std::pair<std::string, std::string>> headers_;
  std::optional<std::string> unsafe_header_;  // the name of a header SetHeader refused
  bool started_ = false;
  bool head_ = false;
  bool keep_alive_ = true;
  bool continue_sent_ = false;
  bool aborted_ = false;
  std::optional<std::chrono::steady_clock::time_point> request_deadline_;
  std::optional<http::response<http::buffer_body>> stream_res_;
  std::optional<http::response_serializer<http::buffer_body>> serializer_;
};

// Beast and Asio errors as the house's codes, in this one place. DEADLINE_EXCEEDED: the peer
// made no progress in time. Reading: INVALID_ARGUMENT for what the client sent or failed to
// send (HTTP it does not allow, a body cut by its close or reset: IncompleteBody). Writing:
// UNAVAILABLE when the client is gone (reset, broken pipe, closed), there is no one to tell.
// Anything else (a local resource, a TLS failure) is UNAVAILABLE: nothing the client did.
absl::Status Connection::Failed(beast::error_code ec, const char* what) {
  keep_alive_ = false;
  std::string message = std::string(what) + ": " + ec.message();
  if (ec == beast::error::timeout) {
    return absl::DeadlineExceededError(std::string(what) + ": timed out");
  }
  bool reading = std::string_view(what).starts_with("reading");
  bool peer_gone = ec == asio::error::eof || ec == asio::error::connection_reset ||
                   ec == asio::error::broken_pipe || ec == asio::error::connection_aborted ||
                   ec == ssl::error::stream_truncated || ec == http::error::end_of_stream ||
                   ec == http::error::partial_message;
  bool bad_http = ec.category() == beast::error_code(http::error::bad_target).category();
  if (reading && (peer_gone || bad_http)) {
    return absl::InvalidArgumentError(message);
  }
  return absl::UnavailableError(message);
}

std::optional<uint64_t> Connection::content_length() const {
  if (parser_->chunked()) return std::nullopt;
  auto len = parser_->content_length();
  return len ? std::optional<uint64_t>(*len) : std::optional<uint64_t>(0);
}

absl::Status Connection::SendContinue() {
  continue_sent_ = true;
  static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  beast::error_code ec = Run(limits_.transfer_timeout, [&](auto& s, auto cb) {
    asio::async_write(s, asio::buffer(kContinue), std::move(cb));
  });
  return ec ? Failed(ec, "100-continue") : absl::OkStatus();
}

bool Connection::ExpectsContinue() const {
  return absl::AsciiStrToLower(ToAbsl(view_.Header("expect"))) == "100-continue";
}

absl::StatusOr<size_t> Connection::ReadBody(ByteSpan out) {
  if (parser_->is_done() || out.empty()) return 0;
  if (!continue_sent_ && ExpectsContinue()) {
    RETURN_IF_ERROR(SendContinue());
  }
  while (true) {
    auto& body = parser_->get().body();
    body.data = out.data();
    body.size = out.size();
    beast::error_code ec = Run(limits_.transfer_timeout, [&](auto& s, auto cb) {
      http::async_read(s, buffer_, *parser_, std::move(cb));
    });
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return Failed(ec, "reading the request body");
    size_t n = out.size() - body.size;
    bytes_in += n;
    if (n > 0 || parser_->is_done()) return n;
  }
}

template <typename Response>
void Connection::Decorate(Response& res, int status) {
  res.result(static_cast<http::status>(status));
  res.version(11);
  res.set(http::field::server, "Mosaic");
  res.set("x-amz-request-id", id_);
  for (const auto& [name, value] : headers_) res.set(name, value);
  // A body the handler did not read would be taken for the next request: close instead.
  // Likewise after a final answer to "Expect: 100-continue" given without a 100: botocore
  // (Debian's 1.29) keeps that early status for the next request on the same connection
  // and reports it instead of the real one; a fresh connection resets it.
  if (!parser_->is_done() || (ExpectsContinue() && !continue_sent_)) keep_alive_ = false;
  if (draining_) keep_alive_ = false;
  res.keep_alive(keep_alive_);
  this->status = status;
}

// The last line against response splitting, whatever the handler forgot to check: a header
// value with a control character is never written, and the response it belonged to is not
// sent either (the caller answers with an error instead).
absl::Status Connection::RefuseUnsafeHeader() {
  if (!unsafe_header_) return absl::OkStatus();
  std::string name = *std::exchange(unsafe_header_, std::nullopt);
  headers_.clear();
  return absl::InvalidArgumentError("the response header " + name +
                                    " would carry a control character");
}

absl::Status Connection::Send(int status, const std::string& body) {
  RETURN_IF_ERROR(RefuseUnsafeHeader());
  http::response<http::string_body> res;
  Decorate(res, status);
  if (!head_) res.body() = body;
  res.prepare_payload();
  if (head_) res.content_length(body.size());
  started_ = true;
  bytes_out += head_ ? 0 : body.size();
  beast::error_code ec = Run(limits_.transfer_timeout,
                             [&](auto& s, auto cb) { http::async_write(s, res, std::move(cb)); });
  return ec ? Failed(ec, "sending the response") : absl::OkStatus();
}

absl::Status Connection::SendHeaders(int status, uint64_t content_length) {
  RETURN_IF_ERROR(RefuseUnsafeHeader());
  started_ = true;
  if (head_) {
    http::response<http::empty_body> res;
    Decorate(res, status);
    res.set(http::field::content_length, std::to_string(content_length));
    http::response_serializer<http::empty_body> sr(res);
    sr.split(true);
    beast::error_code ec = Run(limits_.transfer_timeout, [&](auto& s, auto cb) {
      http::async_write_header(s, sr, std::move(cb));
    });
    return ec ? Failed(ec, "sending the response") : absl::OkStatus();
  }
  stream_res_.emplace();
  Decorate(*stream_res_, status);
  stream_res_->content_length(content_length);
  stream_res_->body().data = nullptr;
  stream_res_->body().more = true;
  serializer_.emplace(*stream_res_);
  beast::error_code ec = Run(limits_.transfer_timeout, [&](auto& s, auto cb) {
    http::async_write_header(s, *serializer_, std::move(cb));
  });
  return ec ? Failed(ec, "sending the response") : absl::OkStatus();
}

absl::Status Connection::SendBody(ConstByteSpan bytes) {
  if (head_ || bytes.empty()) return absl::OkStatus();
  if (!serializer_) return absl::InternalError("SendBody before SendHeaders");
  stream_res_->body().data = const_cast<std::byte*>(bytes.data());
  stream_res_->body().size = bytes.size();
  stream_res_->body().more = true;
  beast::error_code ec = Run(limits_.transfer_timeout, [&](auto& s, auto cb) {
    http::async_write(s, *serializer_, std::move(cb));
  });
  if (ec == http::error::need_buffer) ec = {};
  bytes_out += bytes.size();
  return ec ? Failed(ec, "sending the response body") : absl::OkStatus();
}

void Connection::FinishResponse() {
  if (!serializer_) return;
  if (aborted_) {
    serializer_.reset();
    stream_res_.reset();
    return;
  }
  stream_res_->body().data = nullptr;
  stream_res_->body().size = 0;
  stream_res_->body().more = false;
  beast::error_code ec = Run(limits_.transfer_timeout, [&](auto& s, auto cb) {
    http::async_write(s, *serializer_, std::move(cb));
  });
  if (ec || !serializer_->is_done()) keep_alive_ = false;
  serializer_.reset();
  stream_res_.reset();
}

// Reads the next request's head. False when the connection should close.
bool Connection::ReadRequest(const HttpServer::Rejecter& reject) {
  request_deadline_.reset();
  parser_.emplace();
  parser_->header_limit(static_cast<uint32_t>(limits_.max_header_bytes));
  parser_->body_limit(boost::none);
  // A plain connection's thread reads only heads already begun (pipelined after the last
  // one): the head timeout. A TLS connection waits here between requests too.
  bool first = id_.empty();
  auto timeout = std::holds_alternative<TlsStream>(stream_) && !first ? limits_.idle_timeout
                                                                      : limits_.head_timeout;
  beast::error_code ec = Run(timeout, [&](auto& s, auto cb) {
    http::async_read_header(s, buffer_, *parser_, std::move(cb));
  });
  // A TLS client that closes without close_notify ends the stream "truncated": between
  // requests that is only a close.
  if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
      ec == asio::error::connection_reset || ec == asio::error::eof ||
      ec == ssl::error::stream_truncated) {
    return false;
  }
  id_ = NewRequestId();
  headers_.clear();
  unsafe_header_.reset();
  if (ec) {
    keep_alive_ = false;
    view_ = RequestView{};
    status = 400;
    reject(*this, ec == http::error::header_limit ? 431 : 400, ec.message());
    return false;
  }
  request_deadline_ = std::chrono::steady_clock::now() + limits_.request_timeout;
  auto& req = parser_->get();
  view_.method = std::string(req.method_string());
  view_.target = std::string(req.target());
  view_.headers.clear();
  for (const auto& field : req) {
    view_.headers.emplace_back(absl::AsciiStrToLower(ToAbsl(field.name_string())),
                               std::string(field.value()));
  }
  head_ = req.method() == http::verb::head;
  keep_alive_ = req.keep_alive();
  started_ = continue_sent_ = aborted_ = false;
  operation = "Unknown";
  status = 0;
  bytes_in = bytes_out = 0;
  return true;
}

// TLS only: the handshake, within the idle timeout, so that a client that never finishes it
// holds its connection slot no longer than an idle keep-alive one. A plain HTTP request gets a
// plain-text 400. False when the connection should close.
bool Connection::Handshake() {
  auto* tls = std::get_if<TlsStream>(&stream_);
  if (tls == nullptr) return true;
  beast::error_code ec = Run(limits_.head_timeout, [&](auto&, auto cb) {
    tls->async_handshake(ssl::stream_base::server,
                         [cb = std::move(cb)](beast::error_code e) mutable { cb(e, 0); });
  });
  if (ec.category() == asio::error::get_ssl_category() &&
      ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_HTTP_REQUEST) {
    SendAndClose(tcp().socket(), PlainHttpOnTlsPort());
  }
  return !ec;
}

// TLS only: sends close_notify and waits briefly for the client's; a client gone already
// ends it at once, a silent one after a second.
void Connection::ShutdownTls() {
  auto* tls = std::get_if<TlsStream>(&stream_);
  if (tls == nullptr) return;
  request_deadline_.reset();
  (void)Run(std::min<std::chrono::milliseconds>(limits_.transfer_timeout, std::chrono::seconds(1)),
            [&](auto&, auto cb) {
              tls->async_shutdown([cb = std::move(cb)](beast::error_code e) mutable { cb(e, 0); });
            });
}

bool Connection::Serve(const HttpServer::Handler& handler, const HttpServer::Rejecter& reject) {
  if (!Handshake()) {
    beast::error_code ignored;
    tcp().socket().close(ignored);
    return false;
  }
  while (ReadRequest(reject)) {
    busy = true;
    // The thread's root: an exception (Beast, Asio, protobuf, a handler's bug) ends this
    // request as a 500, or cuts a response already started, never the process.
    try {
      handler(*this);
    } catch (...) {
      keep_alive_ = false;
      if (started_) Abort();
    }
    if (!started_) {
      (void)Send(500, "");
    } else {
      FinishResponse();
    }
    busy = false;
    if (!keep_alive_ || draining_) break;
    // Idle now: a plain connection waits for its next request without a thread.
    if (!tls_ && buffer_.size() == 0) return true;
  }
  ShutdownTls();
  beast::error_code ignored;
  tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
  tcp().socket().close(ignored);
  return false;
}

std::pair<tcp::socket, std::unique_ptr<Slot>> Connection::Park(asio::io_context& ioc) {
  return {MoveSocket(tcp().socket(), ioc), std::move(slot_)};
}

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
  void Launch(std::unique_ptr<Connection> c);
  void Release(const std::string& address) {
    std::lock_guard lock(mu);
    --open;
    if (--per_address[address] == 0) per_address.erase(address);
  }
};

namespace {

Slot::~Slot() { server_->Release(address_); }

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
// waiter (plain HTTP) or its own thread (TLS: the handshake cannot move between threads).
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
  std::lock_guard lock(mu);
  if (threads >= limits.max_connections) return;  // closed by `moved`, then `slot`
  ++threads;
  Launch(std::make_unique<Connection>(std::move(ioc), std::move(moved), std::move(context), limits,
                                      draining, std::move(slot)));
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

// Starts the thread of `c` (counted in `threads` by the caller); called with `mu` held.
// Registered before its thread starts, under the same lock as the count: a Stop() that
// comes in between sees the connection and can shut it down.
void HttpServer::Impl::Launch(std::unique_ptr<Connection> c) {
  connections.insert(c.get());
  std::thread([this, c = std::move(c)]() mutable {
    std::shared_ptr<HeadWaiter> parked;
    if (c->Serve(handler, rejecter)) {
      auto [socket, slot] = c->Park(accept_ioc);
      parked = std::make_shared<HeadWaiter>(std::move(socket), std::move(slot));
    }
    {
      std::lock_guard lock(mu);
      connections.erase(c.get());
      if (parked && !stopping) {
        asio::post(accept_ioc, [this, parked] { WaitForHead(parked, limits.idle_timeout); });
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
  impl->accept_thread = std::thread([raw = impl.get()] { raw->accept_ioc.run(); });
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
  });
  impl_->accept_thread.join();
  std::unique_lock lock(impl_->mu);
  // Idle keep-alive connections are closed at once; requests in progress get `grace`.
  for (Connection* c : impl_->connections) {
    if (!c->busy) ::shutdown(c->native_handle(), SHUT_RDWR);
  }
  impl_->cv.wait_for(lock, grace, [&] { return impl_->threads == 0; });
  // Whoever is left is idle or stuck: cut them off (shutdown(2) wakes their thread).
  for (Connection* c : impl_->connections) ::shutdown(c->native_handle(), SHUT_RDWR);
  impl_->cv.wait(lock, [&] { return impl_->threads == 0; });
}

}  // namespace mosaic::gateway
