#include "server/gateway/http/internal/connection.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstring>
#include <random>

#include "absl/strings/ascii.h"
#include "common/status.h"

namespace mosaic::gateway::internal {
namespace {

// Distinct per request: splitmix64 of a counter from a random start. A generator per thread
// seeded from std::random_device cost a random_device per request (a request is served by a
// thread of its own): 3 % of the gateway's CPU on small GETs (issue 14).
std::string NewRequestId() {
  static std::atomic<uint64_t> next{std::random_device{}() * 0x9E3779B97F4A7C15ull};
  uint64_t v = next.fetch_add(0x9E3779B97F4A7C15ull, std::memory_order_relaxed);
  v = (v ^ (v >> 30)) * 0xBF58476D1CE4E5B9ull;
  v = (v ^ (v >> 27)) * 0x94D049BB133111EBull;
  v ^= v >> 31;
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string id(16, '0');
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

// The ends of a read that only mean the client is gone or said nothing in time: the
// connection is closed without an answer. A TLS client that closes without close_notify ends
// the stream "truncated": between requests that is only a close.
bool ClientLeft(beast::error_code ec) {
  return ec == http::error::end_of_stream || ec == beast::error::timeout ||
         ec == asio::error::connection_reset || ec == asio::error::eof ||
         ec == ssl::error::stream_truncated;
}

// A client that keeps its connection busy sends its next request moments after the last
// response. Waiting that long on this thread saves parking the socket on the I/O thread, a
// new io_context and a new thread for the next request (issue 14: about a fifth of the CPU
// of a small GET). True only when a whole head (up to its blank line) arrived within
// kLingerMs: a head only begun goes to the head waiters as before, which hold no thread while
// a client dribbles it (issue 18). Plain HTTP only: TLS bytes cannot be looked into here.
constexpr int kLingerMs = 2;

bool NextHeadArrived(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, kLingerMs) <= 0) return false;
  std::array<char, 8192> peeked;
  ssize_t n = ::recv(fd, peeked.data(), peeked.size(), MSG_PEEK | MSG_DONTWAIT);
  if (n <= 0) return false;  // closed or failed: the waiter sees it
  return std::string_view(peeked.data(), size_t(n)).find("\r\n\r\n") != std::string_view::npos;
}

}  // namespace

// Sends `bytes` on a socket without blocking and closes it (answers given outside HTTP).
void SendAndClose(tcp::socket& socket, const std::string& bytes) {
  beast::error_code ignored;
  socket.non_blocking(true, ignored);
  socket.send(asio::buffer(bytes), 0, ignored);
  socket.close(ignored);
}

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
  if (BodyDone() || out.empty()) return 0;
  if (!continue_sent_ && ExpectsContinue()) {
    RETURN_IF_ERROR(SendContinue());
  }
  if (body_left_) return ReadLengthBody(out);
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

// A Content-Length body without the parser, which would copy it out of the read buffer 64 KiB
// at a time: what came with the head is taken from the buffer, the rest is read from the
// socket straight into `out`, as much as has arrived (never past the body: a pipelined
// request stays in the socket).
absl::StatusOr<size_t> Connection::ReadLengthBody(ByteSpan out) {
  const size_t want = std::min<uint64_t>(out.size(), *body_left_);
  size_t n = std::min(want, buffer_.size());
  if (n > 0) {
    std::memcpy(out.data(), buffer_.data().data(), n);
    buffer_.consume(n);
  } else {
    beast::error_code ec = Run(limits_.transfer_timeout, [&](auto& s, auto cb) {
      s.async_read_some(asio::buffer(out.data(), want),
                        [&n, cb = std::move(cb)](beast::error_code e, size_t got) mutable {
                          n = got;
                          cb(e, got);
                        });
    });
    if (ec) return Failed(ec, "reading the request body");
  }
  *body_left_ -= n;
  bytes_in += n;
  return n;
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
  if (!BodyDone() || (ExpectsContinue() && !continue_sent_)) keep_alive_ = false;
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

Connection::Connection(std::unique_ptr<asio::io_context> ioc, asio::ip::tcp::socket socket,
                       std::shared_ptr<ssl::context> tls, const HttpLimits& limits,
                       const std::atomic<bool>& draining, std::unique_ptr<Slot> slot,
                       std::string_view received)
    : ioc_(std::move(ioc)),
      slot_(std::move(slot)),
      tls_(std::move(tls)),
      stream_(tls_ ? Stream(std::in_place_type<TlsStream>, std::move(socket), *tls_)
                   : Stream(std::in_place_type<beast::tcp_stream>, std::move(socket))),
      limits_(limits),
      draining_(draining) {
  // Not with nothing received: memcpy of null pointers is undefined even for 0 bytes (UBSan
  // reported it for every TLS connection, whose buffer has no room yet).
  if (received.empty()) return;
  auto room = buffer_.prepare(received.size());
  std::memcpy(room.data(), received.data(), received.size());
  buffer_.commit(received.size());
}

void Connection::PrepareHead() {
  request_deadline_.reset();
  body_left_.reset();
  parser_.emplace();
  parser_->header_limit(static_cast<uint32_t>(limits_.max_header_bytes));
  parser_->body_limit(boost::none);
}

// The I/O thread's deadline (the server's timer) bounds these: no stream timer.
void Connection::StartHead(bool handshake) {
  auto& tls = std::get<TlsStream>(stream_);
  tcp().expires_never();
  PrepareHead();
  head_read_.reset();
  handshake_failed_ = false;
  auto read = [this, &tls] {
    http::async_read_header(tls, buffer_, *parser_,
                            [this](beast::error_code ec, size_t) { head_read_ = ec; });
  };
  if (!handshake) return read();
  tls.async_handshake(ssl::stream_base::server, [this, read](beast::error_code ec) {
    if (!ec) return read();
    handshake_failed_ = true;
    head_read_ = ec;
    // A plain HTTP request gets a plain-text 400 (sent without blocking) before the close.
    if (ec.category() == asio::error::get_ssl_category() &&
        ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_HTTP_REQUEST) {
      SendAndClose(tcp().socket(), PlainHttpOnTlsPort());
    }
  });
}

bool Connection::PollHead() {
  ioc_->restart();
  ioc_->poll();
  return head_read_.has_value();
}

void Connection::Close() {
  beast::error_code ignored;
  tcp().socket().close(ignored);
  ioc_->restart();
  ioc_->poll();
}

bool Connection::HeadWantsThread() const {
  if (!head_read_ || handshake_failed_) return false;
  return !ClientLeft(*head_read_);
}

// Reads the next request's head (unless the I/O thread read it: head_read_). False when the
// connection should close.
bool Connection::ReadRequest(const HttpServer::Rejecter& reject) {
  beast::error_code ec;
  if (head_read_) {
    ec = *std::exchange(head_read_, std::nullopt);
  } else {
    // Only heads already begun are read here (received with the last one, or by a head
    // waiter): the head timeout.
    PrepareHead();
    ec = Run(limits_.head_timeout, [&](auto& s, auto cb) {
      http::async_read_header(s, buffer_, *parser_, std::move(cb));
    });
  }
  if (ClientLeft(ec)) return false;
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
  if (!parser_->is_done() && !parser_->chunked() && parser_->content_length()) {
    body_left_ = *parser_->content_length();
  }
  started_ = continue_sent_ = aborted_ = false;
  operation = "Unknown";
  status = 0;
  bytes_in = bytes_out = 0;
  return true;
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
  if (buffer_.capacity() < kReadBufferBytes) buffer_.reserve(kReadBufferBytes);
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
    // Idle now: the connection waits for its next request without a thread (and without
    // the read buffer's 64 KiB), unless that request comes at once.
    if (buffer_.size() == 0 && (tls() || !NextHeadArrived(native_handle()))) {
      buffer_.shrink_to_fit();
      return true;
    }
  }
  ShutdownTls();
  beast::error_code ignored;
  tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
  tcp().socket().close(ignored);
  return false;
}

void Connection::Interrupt() {
  asio::post(*ioc_, [this] {
    beast::error_code ignored;
    tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
  });
}

std::pair<tcp::socket, std::unique_ptr<Slot>> Connection::Park(asio::io_context& ioc) {
  return {MoveSocket(tcp().socket(), ioc), std::move(slot_)};
}

}  // namespace mosaic::gateway::internal
