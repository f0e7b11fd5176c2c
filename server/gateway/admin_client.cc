#include "server/gateway/admin_client.h"

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <fstream>

#include "common/metrics_server.h"
#include "common/status.h"
#include "server/gateway/config.h"

namespace mosaic::gateway {

absl::StatusOr<AdminTarget> FindAdmin(const std::string& config_path) {
  auto config = LoadGatewayConfig(config_path);
  if (!config.ok()) return absl::InvalidArgumentError(config.status().ToString());
  auto first_line = [](const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
  };
  AdminTarget t{first_line(config->data_dir + "/admin.addr"),
                first_line(config->data_dir + "/admin.token")};
  if (t.address.empty() || t.token.empty()) {
    return absl::UnavailableError("the gateway of " + config_path + " is not running (no " +
                                  config->data_dir + "/admin.addr)");
  }
  return t;
}

absl::StatusOr<std::string> AdminRequest(const std::string& address, const std::string& token,
                                         const std::string& method, const std::string& target,
                                         const std::string& json_body) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  ASSIGN_OR_RETURN(auto host_port, metrics::SplitHostPort(address));
  boost::asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::error_code ec;
  stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address(host_port.first, ec),
                                                host_port.second),
                 ec);
  if (ec)
    return absl::UnavailableError("cannot reach the gateway at " + address + ": " + ec.message());
  http::request<http::string_body> req(http::string_to_verb(method), target, 11);
  req.set(http::field::host, address);
  req.set(http::field::authorization, "Bearer " + token);
  if (!json_body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = json_body;
  }
  req.prepare_payload();
  http::write(stream, req, ec);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  if (!ec) http::read(stream, buffer, res, ec);
  if (ec) return absl::UnavailableError("admin request failed: " + ec.message());
  if (res.result_int() / 100 != 2) {
    return absl::Status(res.result_int() == 404 ? absl::StatusCode::kNotFound
                                                : absl::StatusCode::kFailedPrecondition,
                        "gateway answered " + std::to_string(res.result_int()) + ": " + res.body());
  }
  return res.body();
}

absl::StatusOr<StatusDocument> FetchStatus(const AdminTarget& t, std::string* raw) {
  ASSIGN_OR_RETURN(std::string body, AdminRequest(t.address, t.token, "GET", "/admin/v1/status"));
  if (raw != nullptr) *raw = body;
  return ParseStatusJson(body);
}

}  // namespace mosaic::gateway
