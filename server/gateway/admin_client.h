#pragma once
// The CLI's side of the gateway's admin listener (admin.h): finding the running gateway of a
// config file, and blocking requests to it.

#include <string>

#include "absl/status/statusor.h"
#include "server/gateway/status.h"

namespace mosaic::gateway {

// The admin listener of the running gateway configured by `config_path`: its address and
// token, from <data_dir>/admin.addr and admin.token. INVALID_ARGUMENT when the config does
// not load; UNAVAILABLE when the gateway is not running (no address file).
struct AdminTarget {
  std::string address;
  std::string token;
};
[[nodiscard]] absl::StatusOr<AdminTarget> FindAdmin(const std::string& config_path);

// AdminTarget for a CLI command: on failure prints "mosaic: <reason>" and ends the command
// with exit code 2 (bad config) or 1 (gateway not running). Defined with the CLI commands
// (gateway_command.cc), which the executable links.
AdminTarget AdminTargetOrExit(const std::string& config_path);

// A blocking HTTP request to a gateway's admin listener (for the CLI commands). Returns the body
// on 2xx; otherwise an error with the status and body.
[[nodiscard]] absl::StatusOr<std::string> AdminRequest(const std::string& address,
                                                       const std::string& token,
                                                       const std::string& method,
                                                       const std::string& target,
                                                       const std::string& json_body = "");

// GET /admin/v1/status, parsed (status.h); the raw JSON in `raw` when not null. Errors of
// AdminRequest, or INVALID_ARGUMENT for a body that is not a status document.
[[nodiscard]] absl::StatusOr<StatusDocument> FetchStatus(const AdminTarget& t, std::string* raw);

}  // namespace mosaic::gateway
