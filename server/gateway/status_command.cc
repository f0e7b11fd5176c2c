// `mosaic status [--json] --config FILE`: a client of the running gateway's admin API
// (GET /admin/v1/status). Exit codes: 0 done, 1 the gateway cannot be asked, 2 a bad config.
// The node commands that follow a drain with it are in node_command.cc.

#include <cstdio>
#include <memory>
#include <string>

#include "common/clock.h"
#include "server/commands.h"
#include "server/gateway/admin_client.h"
#include "server/gateway/status.h"

namespace mosaic {

void FailCommand(int code, const absl::Status& s) {
  std::fprintf(stderr, "mosaic: %s\n", s.ToString().c_str());
  throw CLI::RuntimeError(code);
}

void AddStatusCommands(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "status", "Show providers, nodes and how safe the data is (the gateway must run)");
  auto config = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("--config,-c", *config, "Gateway configuration file")->required();
  cmd->add_flag("--json", *json, "Print the status document as JSON");
  cmd->callback([config, json] {
    gateway::AdminTarget t = gateway::AdminTargetOrExit(*config);
    std::string raw;
    auto doc = gateway::FetchStatus(t, &raw);
    if (!doc.ok()) FailCommand(1, doc.status());
    std::printf("%s", *json ? raw.c_str() : gateway::StatusText(*doc, UnixNowMs()).c_str());
  });
}

}  // namespace mosaic
