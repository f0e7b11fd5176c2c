// The gateway's HTTP server on loopback, driven by a raw socket client so that every byte on
// the wire is the test's choice: keep-alive, streamed bodies both ways, 100-continue, the
// limits, and Stop().

#include "server/gateway/http/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "common/tls_cert.h"

namespace mosaic::gateway {
namespace {

using namespace std::chrono_literals;

// Every blocking socket call of the client gives up after this: a hung server fails the
// test instead of hanging it.
constexpr auto kClientTimeout = 10s;

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{static_cast<time_t>(kClientTimeout.count()), 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Client() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (tls_ != nullptr) SSL_CTX_free(tls_);
    ::close(fd_);
  }
  bool connected() const { return connected_; }

  // Makes this a TLS client (without verifying the server: the test's own certificate):
  // the handshake, then Write and Read go through it. False if the handshake fails.
  bool StartTls() {
    tls_ = SSL_CTX_new(TLS_client_method());
    ssl_ = SSL_new(tls_);
    SSL_set_fd(ssl_, fd_);
    return SSL_connect(ssl_) == 1;
  }

  bool Write(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ssl_ != nullptr ? SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()))
                                  : ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads one response (a 1xx one included). status 0 if the connection ended first.
  Response Read(bool head = false) {
    Response r;
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return r;
    }
    std::string head_text = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    size_t line_end = head_text.find("\r\n");
    std::string status_line = head_text.substr(0, line_end);
    if (!status_line.starts_with("HTTP/1.1 ") ||
        !absl::SimpleAtoi(status_line.substr(9, 3), &r.status)) {
      ADD_FAILURE() << "bad status line: " << status_line;
      return r;
    }
    size_t pos = line_end == std::string::npos ? head_text.size() : line_end + 2;
    while (pos < head_text.size()) {
      size_t next = head_text.find("\r\n", pos);
      if (next == std::string::npos) next = head_text.size();
      std::string line = head_text.substr(pos, next - pos);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        r.headers[absl::AsciiStrToLower(line.substr(0, colon))] =
            std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
      }
      pos = next + 2;
    }
    if (r.status < 200 || head || r.status == 204 || r.status == 304) return r;
    size_t length = 0;
    if (!absl::SimpleAtoi(r.Header("content-length"), &length)) {
      ADD_FAILURE() << "no Content-Length";
      return r;
    }
    while (buf_.size() < length) {
      if (!Fill()) {
        ADD_FAILURE() << "body cut at " << buf_.size() << " of " << length << " bytes";
        r.status = 0;
        return r;
      }
    }
    r.body = buf_.substr(0, length);
    buf_.erase(0, length);
    return r;
  }

  // True when the server closed the connection (EOF or reset) with nothing more to read.
  bool Closed() {
    if (!buf_.empty()) return false;
    char c;
    ssize_t n = ::recv(fd_, &c, 1, 0);
    if (n == 1) buf_.push_back(c);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

  // Everything until the server closes the connection.
  std::string ReadToEnd() {
    while (Fill()) {
    }
    return std::exchange(buf_, "");
  }

 private:
  bool Fill() {
    char chunk[65536];
    ssize_t n =
        ssl_ != nullptr ? SSL_read(ssl_, chunk, sizeof chunk) : ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buf_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  SSL_CTX* tls_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string buf_;
};

std::string Get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n";
}

std::string Body(Exchange& ex) {
  std::string out;
  std::byte buf[7];  // small on purpose: the body arrives in many pieces
  while (true) {
    auto n = ex.ReadBody({buf, sizeof buf});
    if (!n.ok()) throw std::runtime_error(std::string(n.status().message()));
    if (*n == 0) return out;
    out.append(reinterpret_cast<const char*>(buf), *n);
  }
}

// Rejections answered as the gateway does: the status and its reason.
void Reject(Exchange& ex, int status, const std::string& reason) { (void)ex.Send(status, reason); }

class HttpServerTest : public ::testing::Test {
 protected:
  void Start(HttpServer::Handler handler, HttpLimits limits = {}) {
    auto s = HttpServer::Start("127.0.0.1:0", limits, std::move(handler), Reject);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    ASSERT_NE(server_->port(), 0);
  }
  // Waits (bounded) until the server counts `n` connections.
  bool WaitForConnections(size_t n) {
    return WaitFor([&] { return server_->active_connections() == n; });
  }
  // Waits (bounded) until no request is being served: every slot given back.
  bool WaitForIdleSlots() {
    return WaitFor([&] { return server_->serving_requests() == 0; });
  }
  bool WaitFor(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + kClientTimeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(1ms);
    }
    return true;
  }
  uint16_t port() const { return server_->port(); }
  // Start, over TLS with a new self-signed certificate for 127.0.0.1.
  void StartTls(HttpServer::Handler handler, HttpLimits limits) {
    auto identity = tls::MakeSelfSigned("127.0.0.1");
    ASSERT_TRUE(identity.ok()) << identity.status();
    std::string dir = ::testing::TempDir() + "/http-tls-" + std::to_string(::getpid());
    std::filesystem::create_directories(dir);
    HttpTls files{dir + "/cert.pem", dir + "/key.pem"};
    std::ofstream(files.cert_file) << identity->cert_pem;
    std::ofstream(files.key_file) << identity->key_pem;
    auto s = HttpServer::Start("127.0.0.1:0", limits, std::move(handler), Reject, files);
    std::filesystem::remove_all(dir);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
  }

  std::unique_ptr<HttpServer> server_;
};

// Answers "METHOD TARGET" and the request's headers as it saw them.
void Echo(Exchange& ex) {
  std::string body = ex.request().method + " " + ex.request().target;
  ex.SetHeader("x-seen-host", std::string(ex.request().Header("host")));
  (void)ex.Send(200, body);
}

TEST_F(HttpServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  Start(Echo);
  Client c(port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.Write(Get("/a%20b?x=1")));
  Response r1 = c.Read();
  EXPECT_EQ(r1.status, 200);
  EXPECT_EQ(r1.body, "GET /a%20b?x=1");  // the target exactly as sent
  EXPECT_EQ(r1.Header("x-seen-host"), "x");
  EXPECT_EQ(r1.Header("x-amz-request-id").size(), 16u);
  ASSERT_TRUE(c.Write("DELETE /b/k HTTP/1.1\r\nHost: y\r\n\r\n"));
  Response r2 = c.Read();
  EXPECT_EQ(r2.status, 200);
  EXPECT_EQ(r2.body, "DELETE /b/k");
  EXPECT_EQ(r2.Header("x-seen-host"), "y");
  EXPECT_NE(r2.Header("x-amz-request-id"), r1.Header("x-amz-request-id"));
  EXPECT_EQ(server_->active_connections(), 1u);
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  Start(Echo);
  Client c(port());
  ASSERT_TRUE(c.Write(Get("/1") + Get("/2") + Get("/3")));
  for (const char* target : {"/1", "/2", "/3"}) {
    Response r = c.Read();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, std::string("GET ") + target);
  }
}

TEST_F(HttpServerTest, ConnectionCloseIsHonoured) {
  Start(Echo);
  Client c(port());
  ASSERT_TRUE(c.Write(Get("/", "Connection: close\r\n")));
  Response r = c.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(c.Closed());
}

TEST_F(HttpServerTest, RequestBodyIsStreamedInPieces) {
  std::atomic<uint64_t> declared{0};
  Start([&](Exchange& ex) {
    declared = ex.content_length().value_or(UINT64_MAX);
    std::string body = Body(ex);
    (void)ex.Send(200, std::to_string(body.size()) + ":" + body.substr(0, 16) + ":" +
                           std::to_string(ex.bytes_in));
  });
  std::string payload;
  for (int i = 0; i < 100000; ++i) payload.push_back(static_cast<char>('a' + i % 26));
  Client c(port());
  ASSERT_TRUE(c.Write("PUT /b/k HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"));
  // The body in uneven writes, as a slow client would send it.
  for (size_t pos = 0; pos < payload.size(); pos += 33333) {
    ASSERT_TRUE(c.Write(std::string_view(payload).substr(pos, 33333)));
  }
  Response r = c.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "100000:abcdefghijklmnop:100000");
  EXPECT_EQ(declared.load(), 100000u);
  // The connection is still good for the next request.
  ASSERT_TRUE(c.Write("PUT /b/k2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz"));
  EXPECT_EQ(c.Read().body, "3:xyz:3");
}

TEST_F(HttpServerTest, ChunkedRequestBodyHasNoContentLength) {
  std::atomic<bool> had_length{true};
  Start([&](Exchange& ex) {
    had_length = ex.content_length().has_value();
    (void)ex.Send(200, Body(ex));
  });
  Client c(port());
  ASSERT_TRUE(
      c.Write("PUT /b/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
              "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
  Response r = c.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello world");
  EXPECT_FALSE(had_length.load());
}

TEST_F(HttpServerTest, ResponseBodyIsStreamed) {
  Start([](Exchange& ex) {
    std::string part(10000, 'x');
    if (!ex.SendHeaders(200, 3 * part.size()).ok()) return;
    for (char c : {'a', 'b', 'c'}) {
      part.assign(part.size(), c);
      if (!ex.SendBody(AsBytes(part)).ok()) return;
    }
  });
  Client c(port());
  ASSERT_TRUE(c.Write(Get("/b/big")));
  Response r = c.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-length"), "30000");
  ASSERT_EQ(r.body.size(), 30000u);
  EXPECT_EQ(r.body, std::string(10000, 'a') + std::string(10000, 'b') + std::string(10000, 'c'));
  // Keep-alive after a streamed response.
  ASSERT_TRUE(c.Write(Get("/b/big")));
  EXPECT_EQ(c.Read().body.size(), 30000u);
}

TEST_F(HttpServerTest, HeadGetsHeadersWithoutBody) {
  Start([](Exchange& ex) {
    if (ex.request().target == "/stream") {
      (void)ex.SendHeaders(200, 12345);
    } else {
      (void)ex.Send(200, "twelve bytes");
    }
  });
  Client c(port());
  ASSERT_TRUE(c.Write("HEAD /stream HTTP/1.1\r\nHost: x\r\n\r\n"));
  Response r = c.Read(/*head=*/true);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-length"), "12345");
  ASSERT_TRUE(c.Write("HEAD /whole HTTP/1.1\r\nHost: x\r\n\r\n"));
  Response r2 = c.Read(/*head=*/true);
  EXPECT_EQ(r2.status, 200);
  EXPECT_EQ(r2.Header("content-length"), "12");
  // Nothing else was sent: the next response is the next request's.
  ASSERT_TRUE(c.Write(Get("/whole")));
  Response r3 = c.Read();
  EXPECT_EQ(r3.status, 200);
  EXPECT_EQ(r3.body, "twelve bytes");
}

TEST_F(HttpServerTest, ExpectContinueIsSentWhenTheBodyIsRead) {
  Start([](Exchange& ex) {
    if (ex.request().target == "/refuse") {
      (void)ex.Send(403, "no");  // refuses without reading: no 100 Continue
      return;
    }
    (void)ex.Send(200, Body(ex));
  });
  Client c(port());
  ASSERT_TRUE(
      c.Write("PUT /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
              "Expect: 100-continue\r\n\r\n"));
  Response interim = c.Read();
  ASSERT_EQ(interim.status, 100);
  ASSERT_TRUE(c.Write("hello"));
  Response r = c.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello");

  Client refused(port());
  ASSERT_TRUE(
      refused.Write("PUT /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                    "Expect: 100-continue\r\n\r\n"));
  Response no = refused.Read();
  EXPECT_EQ(no.status, 403);
  EXPECT_EQ(no.body, "no");
  // The unread body would be taken for the next request: the connection is closed.
  EXPECT_EQ(no.Header("connection"), "close");
  EXPECT_TRUE(refused.Closed());
}

TEST_F(HttpServerTest, UnreadBodyClosesTheConnection) {
  Start([](Exchange& ex) { (void)ex.Send(200, "ignored your body"); });
  Client c(port());
  ASSERT_TRUE(c.Write("PUT /b/k HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789"));
  Response r = c.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("connection"), "close");
  EXPECT_TRUE(c.Closed());
}

TEST_F(HttpServerTest, HeaderSectionOverTheLimitIsRefused) {
  HttpLimits limits;
  limits.max_header_bytes = 1024;
  Start(Echo, limits);
  Client c(port());
  ASSERT_TRUE(c.Write(Get("/", "X-Big: " + std::string(4000, 'a') + "\r\n")));
  Response r = c.Read();
  EXPECT_EQ(r.status, 431);
  EXPECT_TRUE(c.Closed());
  // Just under the limit passes.
  Client ok(port());
  ASSERT_TRUE(ok.Write(Get("/", "X-Big: " + std::string(800, 'a') + "\r\n")));
  EXPECT_EQ(ok.Read().status, 200);
}

TEST_F(HttpServerTest, GarbageGets400AndClose) {
  Start(Echo);
  for (const char* garbage :
       {"HELLO\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        "PUT / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"}) {
    Client c(port());
    ASSERT_TRUE(c.Write(garbage));
    Response r = c.Read();
    EXPECT_EQ(r.status, 400) << garbage;
    EXPECT_TRUE(c.Closed()) << garbage;
  }
  // The server is still fine.
  Client c(port());
  ASSERT_TRUE(c.Write(Get("/")));
  EXPECT_EQ(c.Read().status, 200);
}

TEST_F(HttpServerTest, HandlerThatDoesNotAnswerGets500) {
  Start([](Exchange&) {});
  Client c(port());
  ASSERT_TRUE(c.Write(Get("/")));
  EXPECT_EQ(c.Read().status, 500);
}

TEST_F(HttpServerTest, HandlerExceptionGets500AndTheServerLives) {
  Start([](Exchange& ex) {
    if (ex.request().target == "/throw") throw std::runtime_error("boom");
    (void)ex.Send(200, "fine");
  });
  Client c(port());
  ASSERT_TRUE(c.Write(Get("/throw")));
  Response r = c.Read();
  EXPECT_EQ(r.status, 500);
  Client after(port());
  ASSERT_TRUE(after.Write(Get("/")));
  EXPECT_EQ(after.Read().body, "fine");
}

// Response splitting: a header value from request data with CR/LF (or another control) is
// never written; the response it belonged to fails, and the handler answers an error instead.
TEST_F(HttpServerTest, HeaderValueWithControlCharactersIsNeverWritten) {
  std::atomic<int> refused{0};
  Start([&](Exchange& ex) {
    ex.SetHeader("Content-Type", "text/html\r\nSet-Cookie: session=stolen\r\n\r\n<h1>hi</h1>");
    ex.SetHeader("x-ok", "fine");
    absl::Status sent = ex.Send(200, "the real body");
    if (sent.ok()) return;
    refused = static_cast<int>(sent.code());
    ex.SetHeader("x-error", "yes");
    (void)ex.Send(400, "refused");
  });
  Client c(port());
  ASSERT_TRUE(c.Write(Get("/")));
  Response r = c.Read();
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "refused");
  EXPECT_EQ(r.Header("set-cookie"), "");
  EXPECT_EQ(r.Header("x-ok"), "");  // the refused response's headers are all dropped
  EXPECT_EQ(r.Header("x-error"), "yes");
  EXPECT_EQ(refused.load(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_TRUE(IsSafeHeaderValue("text/plain; charset=\"utf-8\"\tok"));
  const std::string_view kBad[] = {"a\rb", "a\nb", std::string_view("a\0b", 3), "\x1b[31m", "\x7f"};
  for (std::string_view bad : kBad) {
    EXPECT_FALSE(IsSafeHeaderValue(bad)) << bad;
  }
}

// Socket errors carry the house's codes (issue 19): a client gone while its response is
// written is UNAVAILABLE (no one to tell), not INVALID_ARGUMENT (a bad request).
TEST_F(HttpServerTest, AClientGoneDuringTheResponseIsUnavailable) {
  std::promise<absl::StatusCode> code;
  Start([&](Exchange& ex) {
    std::string block(64 * 1024, 'x');
    absl::Status s = ex.SendHeaders(200, uint64_t{1} << 40);
    for (int i = 0; s.ok() && i < 100000; ++i) s = ex.SendBody(AsBytes(std::string_view(block)));
    code.set_value(s.code());
    ex.Abort();
  });
  {
    Client c(port());
    ASSERT_TRUE(c.Write(Get("/")));
    EXPECT_EQ(c.Read(/*head=*/true).status, 200);
  }  // closed with the response's body unread: the server's writes fail
  auto result = code.get_future();
  ASSERT_EQ(result.wait_for(kClientTimeout * 3), std::future_status::ready);
  EXPECT_EQ(result.get(), absl::StatusCode::kUnavailable);
}

TEST_F(HttpServerTest, AbortCutsAStartedResponse) {
  Start([](Exchange& ex) {
    if (!ex.SendHeaders(200, 100).ok()) return;
    (void)ex.SendBody(AsBytes(std::string_view("only ten b")));
    ex.Abort();
  });
  Client c(port());
  ASSERT_TRUE(c.Write(Get("/")));
  Response head = c.Read(/*head=*/true);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("content-length"), "100");
  // The client sees a short body, then the end of the connection: never a complete one.
  EXPECT_EQ(c.ReadToEnd(), "only ten b");
}

TEST_F(HttpServerTest, IdleConnectionsAreClosed) {
  HttpLimits limits;
  limits.idle_timeout = 200ms;
  Start(Echo, limits);
  Client silent(port());
  ASSERT_TRUE(silent.connected());
  EXPECT_TRUE(silent.Closed());  // within the client's timeout, not never
  Client after_one(port());
  ASSERT_TRUE(after_one.Write(Get("/")));
  EXPECT_EQ(after_one.Read().status, 200);
  EXPECT_TRUE(after_one.Closed());
  EXPECT_TRUE(WaitForConnections(0));
}

TEST_F(HttpServerTest, ATricklingRequestIsCutAtTheRequestTimeout) {
  HttpLimits limits;
  limits.transfer_timeout = 10s;  // each byte arrives well within this
  limits.request_timeout = 300ms;
  std::atomic<int> body_error{0};
  Start(
      [&](Exchange& ex) {
        std::byte buf[64];
        while (true) {
          auto n = ex.ReadBody(buf);
          if (!n.ok()) {
            body_error = static_cast<int>(n.status().code());
            return;
          }
          if (*n == 0) break;
        }
        (void)ex.Send(200, "complete");
      },
      limits);
  Client c(port());
  ASSERT_TRUE(c.Write("PUT /b/k HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"));
  // One byte every 50 ms: never idle for long, but the whole request would take 50 s.
  auto start = std::chrono::steady_clock::now();
  bool closed = false;
  for (int i = 0; i < 200 && !closed; ++i) {
    closed = !c.Write("x");
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(c.Closed());
  EXPECT_EQ(body_error.load(), static_cast<int>(absl::StatusCode::kDeadlineExceeded));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

// A GET on a new connection, again while it is refused with 503 (bounded): a request slot
// is given back when its thread has ended, just after the response was sent.
Response ServedSoon(uint16_t port, const std::string& target) {
  Response r;
  for (int i = 0; i < 200; ++i) {
    Client c(port);
    if (!c.Write(Get(target))) continue;
    r = c.Read();
    if (r.status != 503) return r;
    std::this_thread::sleep_for(5ms);
  }
  return r;
}

TEST_F(HttpServerTest, MaxConnectionsBoundsRequestsServedAtOnceWith503) {
  HttpLimits limits;
  limits.max_connections = 1;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> entered{false};
  Start(
      [&](Exchange& ex) {
        if (ex.request().target == "/hold") {
          entered = true;
          released.wait();
        }
        Echo(ex);
      },
      limits);
  Client first(port());
  ASSERT_TRUE(first.Write(Get("/hold")));
  auto deadline = std::chrono::steady_clock::now() + kClientTimeout;
  while (!entered && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  ASSERT_TRUE(entered);

  Client second(port());
  ASSERT_TRUE(second.Write(Get("/")));
  Response busy = second.Read();
  EXPECT_EQ(busy.status, 503);
  EXPECT_EQ(busy.Header("connection"), "close");
  EXPECT_NE(busy.body.find("<Code>SlowDown</Code>"), std::string::npos) << busy.body;
  EXPECT_TRUE(busy.body.ends_with("</Error>")) << busy.body;
  EXPECT_TRUE(second.Closed());

  release.set_value();
  EXPECT_EQ(first.Read().body, "GET /hold");
  // Idle between requests, the first connection holds no thread: another is served.
  EXPECT_EQ(ServedSoon(port(), "/again").body, "GET /again");
}

// `n` connections, each having sent `bytes`; all connected.
std::vector<std::unique_ptr<Client>> OpenClients(uint16_t port, int n, std::string_view bytes) {
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < n; ++i) {
    clients.push_back(std::make_unique<Client>(port));
    EXPECT_TRUE(clients.back()->connected());
    if (!bytes.empty()) {
      EXPECT_TRUE(clients.back()->Write(bytes));
    }
  }
  return clients;
}

// Slowloris (issue 18, finding 2): connections that never finish a head, far more of them
// than requests may be served at once, hold no thread: a real request is still served.
TEST_F(HttpServerTest, HalfSentHeadsHoldNoThread) {
  HttpLimits limits;
  limits.max_connections = 2;
  Start(Echo, limits);
  auto slow = OpenClients(port(), 50, "GET /slow HTTP/1.1\r\nHost: x\r\nX-Wait: ");
  ASSERT_TRUE(WaitForConnections(50));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(ServedSoon(port(), "/served").body, "GET /served");
  // The slow ones finish their heads at last and are answered — once the threads of the
  // requests above have ended (on a busy machine they may linger past their responses, and a
  // head completed meanwhile is refused with 503 like any request over the limit).
  ASSERT_TRUE(WaitForIdleSlots());
  ASSERT_TRUE(slow[0]->Write("1\r\n\r\n"));
  EXPECT_EQ(slow[0]->Read().body, "GET /slow");
}

// Slowloris over TLS (issue 18, finding 2): a TLS connection held a thread from its accept.
// Connections that never finish their handshake, and others that send half a head after it,
// far more than requests may be served at once, now hold no thread: TLS requests are served.
TEST_F(HttpServerTest, HungTlsHandshakesAndHeadsHoldNoThread) {
  HttpLimits limits;
  limits.max_connections = 2;
  ASSERT_NO_FATAL_FAILURE(StartTls(Echo, limits));
  auto hung = OpenClients(port(), 30, std::string("\x16\x03\x01", 3));  // a record begun
  std::vector<std::unique_ptr<Client>> half;
  for (int i = 0; i < 10; ++i) {
    half.push_back(std::make_unique<Client>(port()));
    ASSERT_TRUE(half.back()->StartTls());
    ASSERT_TRUE(half.back()->Write("GET /slow HTTP/1.1\r\nHost: x\r\nX-Wait: "));
  }
  ASSERT_TRUE(WaitForConnections(40));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(WaitForIdleSlots());  // the previous request's thread has ended
    Client c(port());
    ASSERT_TRUE(c.StartTls()) << "TLS connection " << i << " refused";
    ASSERT_TRUE(c.Write(Get("/served")));
    EXPECT_EQ(c.Read().body, "GET /served");
  }
  // A half-sent head finishes and is answered; idle again, the connection serves once more.
  ASSERT_TRUE(WaitForIdleSlots());
  ASSERT_TRUE(half[0]->Write("1\r\n\r\n"));
  EXPECT_EQ(half[0]->Read().body, "GET /slow");
  ASSERT_TRUE(half[0]->Write(Get("/again")));
  EXPECT_EQ(half[0]->Read().body, "GET /again");
}

TEST_F(HttpServerTest, ATlsHandshakeMustFinishWithinTheHeadTimeout) {
  HttpLimits limits;
  limits.head_timeout = 300ms;
  limits.idle_timeout = 1h;
  ASSERT_NO_FATAL_FAILURE(StartTls(Echo, limits));
  Client stalled(port());
  ASSERT_TRUE(stalled.Write(std::string("\x16\x03\x01", 3)));
  EXPECT_TRUE(stalled.Closed());  // within the client's 10 s timeout, not the idle hour
  // Between requests the idle timeout applies (the head timeout from the first byte).
  Client keep(port());
  ASSERT_TRUE(keep.StartTls());
  ASSERT_TRUE(keep.Write(Get("/one")));
  EXPECT_EQ(keep.Read().status, 200);
  std::this_thread::sleep_for(600ms);  // longer than the head timeout: still open
  ASSERT_TRUE(keep.Write(Get("/two")));
  EXPECT_EQ(keep.Read().body, "GET /two");
}

TEST_F(HttpServerTest, AHeadMustArriveWithinTheHeadTimeout) {
  HttpLimits limits;
  limits.head_timeout = 300ms;
  limits.idle_timeout = 1h;
  Start(Echo, limits);
  Client trickle(port());
  bool cut = false;
  // One byte every 50 ms: never idle for long, but the head would take 10 s.
  for (int i = 0; i < 200 && !cut; ++i) {
    cut = !trickle.Write("G");
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(trickle.Closed());
  // Between requests the idle timeout applies, and the head timeout from its first byte.
  Client keep(port());
  ASSERT_TRUE(keep.Write(Get("/one")));
  EXPECT_EQ(keep.Read().status, 200);
  std::this_thread::sleep_for(600ms);  // longer than the head timeout: still open
  ASSERT_TRUE(keep.Write(Get("/two")));
  EXPECT_EQ(keep.Read().body, "GET /two");
}

TEST_F(HttpServerTest, ConnectionsPerAddressAndOpenConnectionsAreBounded) {
  HttpLimits limits;
  limits.max_connections_per_address = 3;
  Start(Echo, limits);
  auto held = OpenClients(port(), 3, "");
  ASSERT_TRUE(WaitForConnections(3));
  Client fourth(port());
  Response busy = fourth.Read();  // refused at once, before any request
  EXPECT_EQ(busy.status, 503);
  EXPECT_TRUE(fourth.Closed());
  held.pop_back();
  ASSERT_TRUE(WaitForConnections(2));
  Client again(port());
  ASSERT_TRUE(again.Write(Get("/")));
  EXPECT_EQ(again.Read().status, 200);
  server_.reset();

  limits = {};
  limits.max_open_connections = 2;
  Start(Echo, limits);
  Client a(port()), b(port());
  ASSERT_TRUE(WaitForConnections(2));
  Client c(port());
  EXPECT_EQ(c.Read().status, 503);
}

TEST_F(HttpServerTest, StopClosesIdleKeepAliveConnectionsPromptly) {
  Start(Echo);
  Client c(port());
  ASSERT_TRUE(c.Write(Get("/")));
  ASSERT_EQ(c.Read().status, 200);
  ASSERT_TRUE(WaitForConnections(1));
  // An idle keep-alive connection does not hold Stop() for its grace period (an hour here).
  auto stopped = std::async(std::launch::async, [&] { server_->Stop(std::chrono::hours(1)); });
  ASSERT_EQ(stopped.wait_for(kClientTimeout), std::future_status::ready);
  EXPECT_TRUE(c.Closed());
  EXPECT_EQ(server_->active_connections(), 0u);
}

TEST_F(HttpServerTest, StopLetsARequestInProgressFinish) {
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false, release = false;
  Start([&](Exchange& ex) {
    std::unique_lock lock(mu);
    entered = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
    (void)ex.Send(200, "finished");
  });
  Client c(port());
  ASSERT_TRUE(c.Write(Get("/slow")));
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, kClientTimeout, [&] { return entered; }));
  }
  auto stopped = std::async(std::launch::async, [&] { server_->Stop(std::chrono::hours(1)); });
  // New connections are refused once Stop() began: wait until the listener is gone.
  auto deadline = std::chrono::steady_clock::now() + kClientTimeout;
  while (Client(port()).connected() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_NE(stopped.wait_for(0s), std::future_status::ready);
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  Response r = c.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "finished");
  ASSERT_EQ(stopped.wait_for(kClientTimeout), std::future_status::ready);
}

// A request whose client stalls in the middle of its body holds Stop() for its grace only,
// not for the transfer timeout: Stop() asks the connection's thread, asleep in its read, to
// shut the socket down (issue 18: Stop once shut descriptors down from its own thread while
// the connection's thread could be closing them, a data race under TSan).
TEST_F(HttpServerTest, StopCutsAStalledUploadAfterItsGrace) {
  std::promise<absl::Status> read;
  std::atomic<bool> entered{false};
  HttpLimits limits;
  limits.transfer_timeout = std::chrono::hours(1);
  Start(
      [&](Exchange& ex) {
        entered = true;
        std::byte buf[64];
        absl::StatusOr<size_t> n;
        while ((n = ex.ReadBody({buf, sizeof buf})).ok() && *n > 0) {
        }
        read.set_value(n.status());
        (void)ex.Send(200, "");
      },
      limits);
  Client c(port());
  ASSERT_TRUE(c.Write("PUT /b/k HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n012"));
  auto deadline = std::chrono::steady_clock::now() + kClientTimeout;
  while (!entered && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  ASSERT_TRUE(entered);
  auto stopped = std::async(std::launch::async, [&] { server_->Stop(100ms); });
  ASSERT_EQ(stopped.wait_for(kClientTimeout), std::future_status::ready);
  auto status = read.get_future();
  ASSERT_EQ(status.wait_for(0s), std::future_status::ready);
  EXPECT_FALSE(status.get().ok());  // the body never came whole
  EXPECT_EQ(c.ReadToEnd().find("HTTP/1.1 200"), std::string::npos);
  EXPECT_EQ(server_->active_connections(), 0u);
}

TEST_F(HttpServerTest, StartRefusesBadAddresses) {
  EXPECT_FALSE(HttpServer::Start("not-an-address:1", {}, Echo, Reject).ok());
  EXPECT_FALSE(HttpServer::Start("127.0.0.1", {}, Echo, Reject).ok());
  Start(Echo);
  // The port is taken.
  auto again = HttpServer::Start("127.0.0.1:" + std::to_string(port()), {}, Echo, Reject);
  EXPECT_FALSE(again.ok());
}

}  // namespace
}  // namespace mosaic::gateway
