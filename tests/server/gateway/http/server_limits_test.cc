// The HTTP server's limits (issue 18, finding 2): header size, idle, head and request
// timeouts, requests served at once, connections per address, and the slowloris cases
// (half-sent heads and hung TLS handshakes hold no thread). Same program as server_test.cc.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server/gateway/http/server.h"
#include "tests/server/gateway/http/server_test_support.h"

namespace mosaic::gateway::http_test {
namespace {

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

// A request, then a pause longer than the head timeout (300 ms), then another request on the
// same connection: it is still open.
void ExpectIdleOutlastsTheHeadTimeout(Client& keep) {
  ASSERT_TRUE(keep.Write(Get("/one")));
  EXPECT_EQ(keep.Read().status, 200);
  std::this_thread::sleep_for(600ms);
  ASSERT_TRUE(keep.Write(Get("/two")));
  EXPECT_EQ(keep.Read().body, "GET /two");
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
  ExpectIdleOutlastsTheHeadTimeout(keep);
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
  ExpectIdleOutlastsTheHeadTimeout(keep);
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

}  // namespace
}  // namespace mosaic::gateway::http_test
