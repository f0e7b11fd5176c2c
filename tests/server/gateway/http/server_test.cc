// The gateway's HTTP server on loopback, driven by a raw socket client so that every byte on
// the wire is the test's choice: keep-alive, streamed bodies both ways, 100-continue, errors
// and Stop(). The limits and the slowloris cases are in server_limits_test.cc.

#include "server/gateway/http/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/server/gateway/http/server_test_support.h"

namespace mosaic::gateway::http_test {
namespace {

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

// A Content-Length body is read from the socket straight into the handler's buffer (issue 14):
// a buffer larger than the body still ends the body where Content-Length says, so that a
// request sent right behind it, in the same write, is the next request, over TLS too.
void ReadsTheBodyAndNotPastIt(uint16_t port, bool tls) {
  std::string payload;
  for (int i = 0; i < 300000; ++i) payload.push_back(static_cast<char>('a' + i % 26));
  Client c(port);
  if (tls) {
    ASSERT_TRUE(c.StartTls());
  }
  ASSERT_TRUE(c.Write("PUT /b/k HTTP/1.1\r\nHost: x\r\nContent-Length: 300000\r\n\r\n" + payload +
                      "PUT /b/k2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz" + Get("/3")));
  Response r = c.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "300000:" + std::to_string(std::hash<std::string>{}(payload)) + ":300000");
  EXPECT_EQ(c.Read().body, "3:" + std::to_string(std::hash<std::string>{}("xyz")) + ":3");
  EXPECT_EQ(c.Read().body, "0:" + std::to_string(std::hash<std::string>{}("")) + ":0");
}

// Answers "size:hash:bytes_in" of the body, read 1 MiB at a time.
void HashBody(Exchange& ex) {
  std::string body;
  std::vector<std::byte> buf(1 << 20);
  absl::StatusOr<size_t> n;
  while ((n = ex.ReadBody({buf.data(), buf.size()})).ok() && *n > 0) {
    body.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  if (!n.ok()) return (void)ex.Send(400, std::string(n.status().message()));
  (void)ex.Send(200, std::to_string(body.size()) + ":" +
                         std::to_string(std::hash<std::string>{}(body)) + ":" +
                         std::to_string(ex.bytes_in));
}

TEST_F(HttpServerTest, ABodyReadIntoALargeBufferEndsWhereContentLengthSays) {
  Start(HashBody);
  ReadsTheBodyAndNotPastIt(port(), false);
}

TEST_F(HttpServerTest, ABodyReadIntoALargeBufferEndsWhereContentLengthSaysOverTls) {
  StartTls(HashBody, HttpLimits{});
  ReadsTheBodyAndNotPastIt(port(), true);
}

// A client that closes before its Content-Length body is whole: INVALID_ARGUMENT
// (IncompleteBody), after the bytes that did come.
TEST_F(HttpServerTest, ABodyCutShortByTheClientIsInvalidArgument) {
  std::promise<std::pair<absl::Status, size_t>> read;
  Start([&](Exchange& ex) {
    std::byte buf[1 << 16];
    size_t got = 0;
    absl::StatusOr<size_t> n;
    while ((n = ex.ReadBody({buf, sizeof buf})).ok() && *n > 0) got += *n;
    read.set_value({n.status(), got});
    (void)ex.Send(400, "");
  });
  {
    Client c(port());
    ASSERT_TRUE(c.Write("PUT /b/k HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" +
                        std::string(70000, 'x')));
  }
  auto result = read.get_future();
  ASSERT_EQ(result.wait_for(kClientTimeout), std::future_status::ready);
  auto [status, got] = result.get();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(got, 70000u);
}

// The server's end of every accepted connection (sockets of this process whose local port is
// the server's and that do not listen): whether each has TCP_NODELAY set.
std::vector<bool> AcceptedNoDelay(uint16_t port) {
  std::vector<bool> out;
  for (int fd = 3; fd < 4096; ++fd) {
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    int listening = 0;
    socklen_t optlen = sizeof listening;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
        addr.sin_family != AF_INET || ntohs(addr.sin_port) != port ||
        ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optlen) != 0 || listening) {
      continue;
    }
    int nodelay = 0;
    optlen = sizeof nodelay;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &optlen) == 0) {
      out.push_back(nodelay != 0);
    }
  }
  return out;
}

// A small body streamed after its head would wait for the client's delayed ACK (40 ms) under
// Nagle's algorithm: 1,000-byte GETs took 44 ms each (issue 14). Accepted sockets have
// TCP_NODELAY.
TEST_F(HttpServerTest, AcceptedConnectionsSendWithoutNagleDelay) {
  Start(Echo);
  Client c(port());
  ASSERT_TRUE(c.Write(Get("/")));
  ASSERT_EQ(c.Read().status, 200);
  std::vector<bool> nodelay = AcceptedNoDelay(port());
  ASSERT_EQ(nodelay.size(), 1u);
  EXPECT_TRUE(nodelay[0]);
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
}  // namespace mosaic::gateway::http_test
