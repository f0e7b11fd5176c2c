#include "common/metrics_server.h"

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/thread_name.h"

namespace mosaic::metrics {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

absl::StatusOr<std::pair<std::string, uint16_t>> SplitHostPort(const std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError(absl::StrCat("expected host:port, got \"", address, "\""));
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  uint32_t port = 0;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &port) || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("bad port in \"", address, "\""));
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

namespace {

// One HTTP exchange per connection: read a request, answer, close.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Registry& registry)
      : stream_(std::move(socket)), registry_(registry) {}

  void Run() {
    stream_.expires_after(std::chrono::seconds(10));
    http::async_read(stream_, buffer_, request_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (!ec) self->Respond();
                     });
  }

 private:
  void Respond() {
    response_.version(request_.version());
    response_.keep_alive(false);
    if (request_.method() != http::verb::get && request_.method() != http::verb::head) {
      response_.result(http::status::method_not_allowed);
      response_.body() = "method not allowed\n";
    } else if (request_.target() != "/metrics") {
      response_.result(http::status::not_found);
      response_.body() = "not found; try /metrics\n";
    } else {
      response_.result(http::status::ok);
      response_.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      response_.body() = registry_.RenderText();
    }
    response_.prepare_payload();
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code, size_t) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_{8192};
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  Registry& registry_;
};

}  // namespace

struct MetricsServer::Impl {
  explicit Impl(Registry& r) : registry(r), acceptor(io) {}
  void Accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) std::make_shared<Session>(std::move(socket), registry)->Run();
      Accept();
    });
  }
  Registry& registry;
  asio::io_context io;
  tcp::acceptor acceptor;
  std::thread thread;
};

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(Registry& registry,
                                                                    const std::string& listen) {
  auto host_port = SplitHostPort(listen);
  if (!host_port.ok()) return host_port.status();
  auto impl = std::make_unique<Impl>(registry);
  beast::error_code ec;
  auto address = asio::ip::make_address(host_port->first, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("bad metrics address \"", listen, "\""));
  tcp::endpoint endpoint(address, host_port->second);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("metrics: cannot listen on ", listen, ": ", ec.message()));
  }
  impl->Accept();
  impl->thread = std::thread([raw = impl.get()] {
    SetCurrentThreadName("metrics-http");
    raw->io.run();
  });
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MetricsServer::~MetricsServer() {
  asio::post(impl_->io, [this] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
    impl_->io.stop();
  });
  impl_->thread.join();
}

uint16_t MetricsServer::port() const { return impl_->acceptor.local_endpoint().port(); }

}  // namespace mosaic::metrics
