#pragma once
// The HTTP server's connections (private to server/gateway/http/): a Connection serves the
// requests of one socket (connection.cc); the server (server.cc) admits sockets, reads request
// heads without a thread, and runs a Connection on its own thread while it has a request.

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "server/gateway/http/exchange.h"
#include "server/gateway/http/server.h"

namespace mosaic::gateway::internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// Sends `bytes` on a socket without blocking and closes it (answers given outside HTTP).
void SendAndClose(tcp::socket& socket, const std::string& bytes);

// `socket`, moved to io_context `ioc` (a connection's own, or the head waiters'): the same
// descriptor, registered with the other context. Closed on failure.
tcp::socket MoveSocket(tcp::socket& socket, asio::io_context& ioc);

// A connection's share of the server's limits (open connections, per client address): held
// by whatever owns the connection's socket (a head waiter, then a Connection, then a head
// waiter again), given back when the socket closes. The destructor is server.cc's.
class Slot {
 public:
  Slot(HttpServer::Impl* server, std::string address)
      : server_(server), address_(std::move(address)) {}
  ~Slot();
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
  const std::string& address() const { return address_; }

 private:
  HttpServer::Impl* server_;
  std::string address_;
};

// One connection: its own io_context and stream. It gets a thread of its own only while it
// has a request to serve. A plain HTTP connection arrives with its first head read already
// (by the server's head waiter, which costs no thread) and goes back to it, as a socket,
// when idle between requests. A TLS one stays a Connection from its accept on, but its
// handshake and each request head are read on the server's I/O thread (StartHead, PollHead)
// before it gets a thread, and it goes back there when idle.
//
// Threads: one at a time. The I/O thread owns it while it waits for a head, then the thread
// Serve runs on; the server hands it over with a happens-before (a lock or a post).
class Connection final : public Exchange {
 public:
  // `draining` (owned by the server, outlives the connection) turns true when the server
  // stops: the request in progress is answered with Connection: close, and no other is read.
  // `tls` is null for plain HTTP; the connection keeps the context it started with, even
  // when the server's certificate is reloaded meanwhile.
  // `received`: bytes already read from the socket (the head a head waiter read).
  Connection(std::unique_ptr<asio::io_context> ioc, asio::ip::tcp::socket socket,
             std::shared_ptr<ssl::context> tls, const HttpLimits& limits,
             const std::atomic<bool>& draining, std::unique_ptr<Slot> slot,
             std::string_view received = {});

  // TLS only, on the I/O thread: starts the handshake (`handshake`, a new connection) and
  // the read of the next request head on this connection's io_context, without running it.
  // PollHead then runs what is ready, without blocking; true once the head was read (or
  // failed). The caller calls PollHead again when the socket becomes readable.
  void StartHead(bool handshake);
  bool PollHead();
  // After PollHead returned true: whether a thread should serve the connection (a head, or
  // a malformed one to refuse); false when it should just be closed (the handshake failed,
  // the client left or said nothing).
  bool HeadWantsThread() const;
  // Closes the socket and completes what was pending on it (as cancelled), so that the
  // connection can be destroyed on the I/O thread with nothing in flight.
  void Close();
  bool tls() const { return tls_ != nullptr; }
  asio::ip::tcp::socket& socket() { return tcp().socket(); }

  // Serves requests until the client closes, an error, or Connection: close; closes the
  // connection then. Returns true instead when the connection is idle between requests (kept
  // alive, nothing more received): a plain one's Park() hands its socket back to a head
  // waiter, a TLS one goes back to the I/O thread whole.
  bool Serve(const HttpServer::Handler& handler, const HttpServer::Rejecter& reject);
  // After Serve returned true: the socket, moved to `ioc` (the head waiters'), and the slot.
  std::pair<asio::ip::tcp::socket, std::unique_ptr<Slot>> Park(asio::io_context& ioc);
  // Only on the thread that owns the connection (the I/O thread, while it waits for a head).
  int native_handle() { return tcp().socket().native_handle(); }
  // Any thread, while the connection is alive (the server: while it is registered, under the
  // server's mutex): asks the connection's own thread to shut its socket down both ways, which
  // ends the I/O it waits for at once, or else the next it starts. Posted to the connection's
  // io_context, never done from the caller's thread: that thread may be closing the socket
  // (a timeout closes it inside Beast), and a descriptor number read here could be reused.
  void Interrupt();
  // True while a request is being handled (between its head and its response's end).
  std::atomic<bool> busy{false};

  const RequestView& request() const override { return view_; }
  const std::string& request_id() const override { return id_; }
  std::string client_address() const override { return slot_ ? slot_->address() : ""; }
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
  void PrepareHead();
  absl::StatusOr<size_t> ReadLengthBody(ByteSpan out);
  // Whether the request's body has been read to its end.
  bool BodyDone() const { return body_left_ ? *body_left_ == 0 : parser_->is_done(); }
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
  // A Content-Length body is read by ReadLengthBody, not the parser: the bytes still to come.
  std::optional<uint64_t> body_left_;
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
  // TLS: the result of a head read by the I/O thread (StartHead), for ReadRequest.
  std::optional<beast::error_code> head_read_;
  bool handshake_failed_ = false;
  std::optional<http::response<http::buffer_body>> stream_res_;
  std::optional<http::response_serializer<http::buffer_body>> serializer_;
};

}  // namespace mosaic::gateway::internal
