// `mosaic node add ID --provider P --address A --token-file F …`, `mosaic node
// drain|remove|undrain ID --config FILE [--wait]` and `mosaic node forget ID [--force]`:
// clients of the running gateway's admin API (POST /admin/v1/nodes and
// /admin/v1/nodes/ID/drain|remove|activate|forget; GET /admin/v1/status to follow a drain). A
// drain or remove says the data's tolerance before and after (on stderr; stdout is the
// gateway's JSON answer) and is refused without --force when it is unsafe (drain_safety.h).
// Forget also deletes the node's [[node]] entry from the config file. Exit codes: 0 done, 1
// the gateway cannot be asked (or --wait timed out), 2 bad input (config, unknown node id, a
// removed node, a node to add that is invalid, already listed or does not answer, a node to
// forget that is not removed), 3 refused as unsafe (the reason on stderr).

#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "common/status.h"
#include "common/toml_config.h"
#include "common/units.h"
#include "server/commands.h"
#include "server/gateway/admin_client.h"
#include "server/gateway/config.h"
#include "server/gateway/node_list_edit.h"
#include "server/gateway/s3/sigv4.h"
#include "server/gateway/status.h"

namespace mosaic {
namespace {

// One drain progress report: a bar rewritten in place on a terminal, a line otherwise.
void ShowDrain(const gateway::DrainRow& d, bool tty) {
  uint64_t total = std::max(d.shards_at_start, d.shards_left);
  uint64_t moved = total - d.shards_left;
  int percent = total == 0 ? 100 : static_cast<int>(moved * 100 / total);
  if (!tty) {
    std::printf("%s %s: %s of %s shards moved (%d%%), %s left\n", d.state.c_str(), d.node.c_str(),
                gateway::Thousands(moved).c_str(), gateway::Thousands(total).c_str(), percent,
                gateway::Thousands(d.shards_left).c_str());
    std::fflush(stdout);
    return;
  }
  constexpr int kWidth = 30;
  int filled = percent * kWidth / 100;
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(kWidth - filled), '-');
  std::printf("\r%s %s [%s] %3d%%  %s/%s shards moved  ", d.state.c_str(), d.node.c_str(),
              bar.c_str(), percent, gateway::Thousands(moved).c_str(),
              gateway::Thousands(total).c_str());
  std::fflush(stdout);
}

// Follows a drain until the node holds no shard of any piece; 1 on timeout.
int WaitForDrain(const gateway::AdminTarget& t, const std::string& node,
                 std::chrono::milliseconds timeout) {
  const bool tty = isatty(STDOUT_FILENO);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto last_line = std::chrono::steady_clock::now() - std::chrono::hours(1);
  while (true) {
    auto doc = gateway::FetchStatus(t, nullptr);
    if (!doc.ok()) {
      if (tty) std::printf("\n");
      FailCommand(1, doc.status());
    }
    const gateway::DrainRow* row = nullptr;
    for (const auto& d : doc->drains) {
      if (d.node == node) row = &d;
    }
    if (row == nullptr) {
      if (tty) std::printf("\n");
      std::fprintf(stderr, "mosaic: node %s is not draining any more\n", node.c_str());
      return 1;
    }
    auto now = std::chrono::steady_clock::now();
    bool done = row->shards_left == 0 && doc->safety.complete;
    if (tty || done || now - last_line >= std::chrono::seconds(5)) {
      ShowDrain(*row, tty);
      last_line = now;
    }
    if (done) {
      if (tty) std::printf("\n");
      std::printf("node %s holds no shard any more\n", node.c_str());
      return 0;
    }
    if (now > deadline) {
      if (tty) std::printf("\n");
      std::fprintf(stderr, "mosaic: timed out with %s shards still on %s\n",
                   gateway::Thousands(row->shards_left).c_str(), node.c_str());
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

// "node-b drain: the data survives the loss of 2 providers now, 1 after the drain", from the
// gateway's answer (nothing when it has no tolerance, as for undrain).
void ShowTolerance(const std::string& answer, const std::string& node, const std::string& action) {
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(answer, ec);
  if (ec || !doc.is_object()) return;
  const boost::json::value* tolerance = doc.as_object().if_contains("tolerance");
  if (tolerance == nullptr || !tolerance->is_string()) return;
  std::fprintf(stderr, "%s %s: the data %s\n", node.c_str(), action.c_str(),
               std::string(tolerance->as_string()).c_str());
}

// "node-b is now draining; 42 stripes queued to move its shards" (stderr), from the answer.
void SayWhatChanged(const std::string& answer, const std::string& node) {
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(answer, ec);
  const boost::json::object* o = ec ? nullptr : doc.if_object();
  const boost::json::value* state = o ? o->if_contains("state") : nullptr;
  const boost::json::value* queued = o ? o->if_contains("stripes_queued") : nullptr;
  if (state == nullptr || !state->is_string()) return;
  std::string now(state->as_string());
  if (now == "active") {
    std::fprintf(stderr, "node %s is active: new shards may go to it again\n", node.c_str());
    return;
  }
  std::fprintf(stderr, "node %s is now %s; %lld stripes queued to move its shards\n", node.c_str(),
               now.c_str(),
               static_cast<long long>(queued && queued->is_int64() ? queued->as_int64() : 0));
}

void AddNodeAction(CLI::App& node, const std::string& name, const std::string& action,
                   const std::string& help, bool can_wait) {
  CLI::App* cmd = node.add_subcommand(name, help);
  auto config = std::make_shared<std::string>();
  auto id = std::make_shared<std::string>();
  auto wait = std::make_shared<bool>(false);
  auto force = std::make_shared<bool>(false);
  auto timeout = std::make_shared<std::string>("24h");
  cmd->add_option("id", *id, "Node id (as in the gateway's node list)")->required();
  cmd->add_option("--config,-c", *config, "Gateway configuration file")->required();
  if (can_wait) {
    cmd->add_flag("--force", *force,
                  "Go ahead even when another node is unreachable or fewer than k+m providers "
                  "would be left (the data then survives fewer provider losses)");
    cmd->add_flag("--wait,-w", *wait, "Show progress until the node holds no shard");
    cmd->add_option("--timeout", *timeout, "Give up waiting after this long (e.g. 30m)")
        ->capture_default_str();
  }
  cmd->callback([=] {
    auto limit = ParseDuration(*timeout);
    if (!limit.ok()) throw CLI::ValidationError("--timeout", std::string(limit.status().message()));
    gateway::AdminTarget t = gateway::AdminTargetOrExit(*config);
    auto answer = gateway::AdminRequest(t.address, t.token, "POST",
                                        "/admin/v1/nodes/" + gateway::UriEncode(*id, false) + "/" +
                                            action + (*force ? "?force=1" : ""));
    if (!answer.ok() && answer.status().message().find("answered 412: ") != std::string::npos) {
      std::string why(answer.status().message());
      constexpr std::string_view kRefused = "answered 412: ";
      std::fprintf(stderr, "mosaic: %s", why.substr(why.find(kRefused) + kRefused.size()).c_str());
      throw CLI::RuntimeError(3);
    }
    if (!answer.ok()) {
      // 404: no such node; 409: a removed node cannot be drained or activated.
      bool bad_input = answer.status().code() == absl::StatusCode::kNotFound ||
                       answer.status().message().find("answered 409") != std::string::npos;
      FailCommand(bad_input ? 2 : 1, answer.status());
    }
    std::printf("%s", answer->c_str());
    SayWhatChanged(*answer, *id);
    ShowTolerance(*answer, *id, action);
    int rc = *wait ? WaitForDrain(t, *id, *limit) : 0;
    // `mosaic node` runs a storage node when no subcommand of its own ends the process.
    throw CLI::RuntimeError(rc);
  });
}

std::string FirstLineOf(const std::string& path, const char* what) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line) || line.empty()) {
    FailCommand(2,
                absl::InvalidArgumentError(std::string("cannot read ") + what + " from " + path));
  }
  return line;
}

std::string WholeFile(const std::string& path, const char* what) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in || text.str().empty()) {
    FailCommand(2,
                absl::InvalidArgumentError(std::string("cannot read ") + what + " from " + path));
  }
  return text.str();
}

void AddNodeAdd(CLI::App& node) {
  CLI::App* cmd = node.add_subcommand(
      "add", "Add a storage node to the running gateway (it must answer with the token)");
  struct Args {
    std::string config, id, provider, site, address, token_file, ca_file, server_name;
    double weight = 1.0;
    bool plaintext = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("id", a->id, "New node's id (unique in the node list)")->required();
  cmd->add_option("--config,-c", a->config, "Gateway configuration file")->required();
  cmd->add_option("--provider", a->provider, "The provider running the node")->required();
  cmd->add_option("--address", a->address, "The node's gRPC address, host:port")->required();
  cmd->add_option("--token-file", a->token_file,
                  "File whose first line is the tenant token the node gave this group")
      ->required();
  cmd->add_option("--site", a->site, "Site (informational)");
  cmd->add_option("--weight", a->weight, "Placement weight, e.g. proportional to capacity")
      ->capture_default_str();
  auto* ca = cmd->add_option("--ca", a->ca_file, "The node's certificate (or its CA), PEM");
  cmd->add_option("--server-name", a->server_name, "Name to check in the node's certificate");
  cmd->add_flag("--plaintext", a->plaintext, "No TLS (loopback tests only)")->excludes(ca);
  cmd->callback([a] {
    boost::json::object doc;
    doc["id"] = a->id;
    doc["provider"] = a->provider;
    doc["site"] = a->site;
    doc["address"] = a->address;
    doc["weight"] = a->weight;
    doc["token"] = FirstLineOf(a->token_file, "the node token");
    doc["plaintext"] = a->plaintext;
    if (!a->ca_file.empty()) doc["tls_ca_pem"] = WholeFile(a->ca_file, "the certificate");
    if (!a->server_name.empty()) doc["tls_server_name"] = a->server_name;
    gateway::AdminTarget t = gateway::AdminTargetOrExit(a->config);
    auto answer = gateway::AdminRequest(t.address, t.token, "POST", "/admin/v1/nodes",
                                        boost::json::serialize(doc));
    if (!answer.ok()) {
      bool bad_input = answer.status().message().find("answered 4") != std::string::npos;
      FailCommand(bad_input ? 2 : 1, answer.status());
    }
    std::printf("%s", answer->c_str());
    std::fprintf(stderr,
                 "node %s of provider %s added at %s: new stripes may use it now, and stripes "
                 "with two shards at one provider move a shard onto it\n",
                 a->id.c_str(), a->provider.c_str(), a->address.c_str());
    throw CLI::RuntimeError(0);
  });
}

// Deletes node `id`'s [[node]] table from the config file at `path`, keeping its mode. The
// line printed says what happened to the file.
void ForgetInConfig(const std::string& path, const std::string& id) {
  auto text = config::ReadFile(path);
  std::optional<std::string> edited;
  if (text.ok()) edited = gateway::WithoutNode(*text, id);
  if (!text.ok() || !edited) {
    std::fprintf(stderr,
                 "%s was not in %s (a node added with `mosaic node add` is kept in the "
                 "metadata only): nothing to delete there\n",
                 id.c_str(), path.c_str());
    return;
  }
  struct stat st {};
  int mode = ::stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 07777) : 0600;
  absl::Status written = config::WriteNewFile(path, *edited, mode, /*replace=*/true);
  if (!written.ok()) {
    std::fprintf(stderr,
                 "mosaic: the gateway forgot %s, but its [[node]] entry is still in %s (%s): "
                 "delete it by hand, or the gateway keeps ignoring it at every start\n",
                 id.c_str(), path.c_str(), std::string(written.message()).c_str());
    throw CLI::RuntimeError(1);
  }
  std::fprintf(stderr, "deleted the [[node]] entry of %s from %s\n", id.c_str(), path.c_str());
}

void AddNodeForget(CLI::App& node) {
  CLI::App* cmd = node.add_subcommand(
      "forget",
      "Forget a removed node: drop it from status and from the config file (refused while it "
      "still holds shards, unless --force)");
  auto config = std::make_shared<std::string>();
  auto id = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  cmd->add_option("id", *id, "Node id (a removed node)")->required();
  cmd->add_option("--config,-c", *config, "Gateway configuration file")->required();
  cmd->add_flag("--force", *force,
                "Forget it even though stripes still have shards on it: those shards are "
                "given up (stripes left with fewer than k other shards are lost)");
  cmd->callback([=] {
    gateway::AdminTarget t = gateway::AdminTargetOrExit(*config);
    auto answer = gateway::AdminRequest(t.address, t.token, "POST",
                                        "/admin/v1/nodes/" + gateway::UriEncode(*id, false) +
                                            "/forget" + (*force ? "?force=1" : ""));
    if (!answer.ok()) {
      std::string why(answer.status().message());
      bool unsafe = why.find("answered 412") != std::string::npos;
      bool bad_input = why.find("answered 4") != std::string::npos;
      FailCommand(unsafe ? 3 : bad_input ? 2 : 1, answer.status());
    }
    std::printf("%s", answer->c_str());
    boost::system::error_code ec;
    boost::json::value doc = boost::json::parse(*answer, ec);
    const boost::json::object* o = ec ? nullptr : doc.if_object();
    const boost::json::value* given_up = o ? o->if_contains("shards_given_up") : nullptr;
    const boost::json::value* lost = o ? o->if_contains("stripes_lost") : nullptr;
    std::fprintf(stderr, "node %s forgotten: status and placement leave it out\n", id->c_str());
    if (given_up && given_up->is_int64() && given_up->as_int64() > 0) {
      std::fprintf(stderr, "gave up %lld shards still on it; %lld stripes lost\n",
                   static_cast<long long>(given_up->as_int64()),
                   static_cast<long long>(lost && lost->is_int64() ? lost->as_int64() : 0));
    }
    ForgetInConfig(*config, *id);
    throw CLI::RuntimeError(0);
  });
}

}  // namespace

// `mosaic node --help` is a provider's: these commands run where the group's gateway runs
// (they need its gateway.toml), so they are left out of that list and named in its footer.
void AddNodeStateCommands(CLI::App& node) {
  AddNodeAdd(node);
  AddNodeAction(node, "drain", "drain",
                "Move every shard off a node (it keeps serving reads meanwhile)", true);
  AddNodeAction(node, "remove", "remove",
                "Remove a node for good: its shards are rebuilt elsewhere", true);
  AddNodeAction(node, "undrain", "activate", "Make a draining node active again", false);
  AddNodeForget(node);
  for (const char* name : {"add", "drain", "remove", "undrain", "forget"}) {
    CLI::App* cmd = node.get_subcommand(name);
    cmd->group("");  // hidden from `mosaic node --help`
    cmd->description("[on the gateway] " + cmd->get_description());
  }
  node.footer(
      "A group's gateway manages the nodes it uses with `mosaic node add|drain|remove|"
      "undrain|forget ... --config gateway.toml`, run on the gateway's machine (`mosaic node "
      "add --help`, …): they are not a provider's commands.");
}

}  // namespace mosaic
