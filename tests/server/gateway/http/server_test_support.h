// Shared by the HTTP server's tests (server_test.cc, server_limits_test.cc; one ctest program,
// gateway_http_test): a raw socket client whose every byte on the wire is the test's choice,
// and the fixture that starts a server on loopback.
#pragma once

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
#include "server/gateway/http/server.h"

namespace mosaic::gateway::http_test {

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

inline std::string Get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n";
}

inline std::string Body(Exchange& ex) {
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
inline void Reject(Exchange& ex, int status, const std::string& reason) {
  (void)ex.Send(status, reason);
}

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
inline void Echo(Exchange& ex) {
  std::string body = ex.request().method + " " + ex.request().target;
  ex.SetHeader("x-seen-host", std::string(ex.request().Header("host")));
  (void)ex.Send(200, body);
}

}  // namespace mosaic::gateway::http_test
