// `mosaic gateway init` and `mosaic gateway node add INVITE`: a group's onboarding. init
// makes the gateway's folder, master key and config; node add takes a provider's invite
// (`mosaic node tenant add`), checks the certificate the node presents against the
// invite's fingerprint, pins it and adds the node to the config (and to the running
// gateway, through the admin API).

#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include "client/crypto/key_file.h"
#include "common/bytes.h"
#include "common/toml_config.h"
#include "server/commands.h"
#include "server/gateway/admin_client.h"
#include "server/gateway/config.h"
#include "server/gateway/invite.h"
#include "server/gateway/s3/checksum.h"

namespace mosaic {
namespace {

using config::Quote;
using config::WriteNewFile;
using gateway::Invite;
using gateway::ParseInvite;

[[noreturn]] void Fail(const std::string& command, const std::string& why, int code = 1) {
  std::fprintf(stderr, "mosaic gateway %s: %s\n", command.c_str(), why.c_str());
  throw CLI::RuntimeError(code);
}

void FailIfError(const std::string& command, const absl::Status& s, int code = 1) {
  if (!s.ok()) Fail(command, std::string(s.message()), code);
}

std::string Absolute(const std::string& path) {
  std::error_code ec;
  auto p = std::filesystem::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

struct InitArgs {
  std::string dir, listen = "127.0.0.1:9000";
  int k = 4, m = 2;
};

void RunInit(const InitArgs& a) {
  if (a.k < 1 || a.m < 0 || a.k + a.m > 32) Fail("init", "need 1 <= k, 0 <= m, k + m <= 32", 2);
  auto folder = config::MakePrivateFolder(a.dir, "gateway.toml");
  FailIfError("init", folder.status());
  const std::string& dir = *folder;
  std::string config_path = dir + "/gateway.toml";
  std::string key_path = dir + "/master.key";
  auto key_id = client::WriteNewKeyFile(key_path);
  FailIfError("init", key_id.status());
  std::string toml =
      "# Written by `mosaic gateway init`; deploy/gateway.toml documents every key.\n"
      "# Add nodes with `mosaic gateway node add INVITE --config " +
      config_path +
      "`.\n"
      "data_dir = " +
      Quote(dir) + "\nkey_file = " + Quote(key_path) + "\nlisten = " + Quote(a.listen) +
      "\nadmin_listen = \"127.0.0.1:0\"\n\n[erasure]\nk = " + std::to_string(a.k) +
      "\nm = " + std::to_string(a.m) + "\n";
  FailIfError("init", WriteNewFile(config_path, toml, 0600));
  std::printf(
      "created %s (mode 0700):\n"
      "  master.key    the group's master key (0600, key id %s): keep a copy somewhere safe,\n"
      "                without it the data cannot be read\n"
      "  gateway.toml  S3 on %s, objects split %d+%d\n"
      "next: add each node from its provider's invite:\n"
      "  mosaic gateway node add INVITE --config %s\n"
      "then run the gateway: mosaic gateway --config %s\n",
      dir.c_str(), HexEncode(*key_id).c_str(), a.listen.c_str(), a.k, a.m, config_path.c_str(),
      config_path.c_str());
}

// The ids of the [[node]] tables already in the config text.
std::set<std::string> NodeIds(const std::string& text) {
  std::set<std::string> ids;
  auto root = config::ParseToml(text);
  if (!root.ok()) return ids;
  if (const toml::array* nodes = root->get_as<toml::array>("node")) {
    for (const toml::node& n : *nodes) {
      const toml::table* t = n.as_table();
      if (auto id = t ? t->get_as<std::string>("id") : nullptr) ids.insert(id->get());
    }
  }
  return ids;
}

// Adds the node to the gateway running from `config_path`, if one runs. Returns whether it
// did; exits the command if the running gateway refuses the node.
bool AddToRunningGateway(const std::string& config_path, const Invite& invite,
                         const std::string& cert_pem) {
  auto target = gateway::FindAdmin(config_path);
  if (!target.ok()) return false;  // not running (or no node yet: it cannot run)
  boost::json::object doc;
  doc["id"] = invite.node_id;
  doc["provider"] = invite.provider;
  doc["address"] = invite.address;
  doc["token"] = invite.token;
  doc["tls_ca_pem"] = cert_pem;
  doc["tls_fingerprint"] = invite.fingerprint;
  auto answer = gateway::AdminRequest(target->address, target->token, "POST", "/admin/v1/nodes",
                                      boost::json::serialize(doc));
  if (answer.ok()) return true;
  std::string why(answer.status().message());
  if (why.find("answered") == std::string::npos) return false;  // a stale admin.addr
  Fail("node add", "the running gateway refused node " + invite.node_id + ": " + why);
}

void RunNodeAdd(const std::string& invite_text, const std::string& config_path) {
  auto invite = ParseInvite(invite_text);
  FailIfError("node add", invite.status(), 2);
  auto text = config::ReadFile(config_path);
  FailIfError("node add", text.status(), 2);
  if (NodeIds(*text).contains(invite->node_id)) {
    Fail("node add", "node " + invite->node_id + " is already in " + config_path, 2);
  }
  auto endpoint = gateway::PinnedEndpoint(*invite, std::chrono::seconds(10));
  FailIfError("node add", endpoint.status());
  const std::string& pem = endpoint->tls_ca_pem;
  std::string dir = std::filesystem::path(Absolute(config_path)).parent_path().string();
  std::string cert_path = dir + "/nodes/" + invite->node_id + ".crt";
  if (::mkdir((dir + "/nodes").c_str(), 0700) != 0 && errno != EEXIST) {
    Fail("node add", "cannot create " + dir + "/nodes: " + std::strerror(errno));
  }
  FailIfError("node add", WriteNewFile(cert_path, pem, 0644, true));
  std::string updated =
      *text + (text->ends_with("\n") ? "" : "\n") + "\n[[node]]\nid = " + Quote(invite->node_id) +
      "\nprovider = " + Quote(invite->provider) + "\naddress = " + Quote(invite->address) +
      "\ntoken = " + Quote(invite->token) + "\ntls_ca_file = " + Quote(cert_path) +
      "\ntls_fingerprint = " + Quote(invite->fingerprint) + "\n";
  auto check = gateway::ParseGatewayConfig(updated);
  if (!check.ok()) Fail("node add", std::string(check.status().message()), 2);
  // A running gateway takes the node first, so that a node it refuses is not left in the file.
  bool live = AddToRunningGateway(config_path, *invite, pem);
  FailIfError("node add", WriteNewFile(config_path, updated, 0600, true));
  std::printf("added node %s of provider %s at %s to %s; certificate %s pinned (%s)%s\n",
              invite->node_id.c_str(), invite->provider.c_str(), invite->address.c_str(),
              config_path.c_str(), invite->fingerprint.c_str(), cert_path.c_str(),
              live ? "; the running gateway uses it now" : "");
}

}  // namespace

void AddGatewayOnboardCommands(CLI::App& gw) {
  CLI::App* init = gw.add_subcommand("init", "Create a gateway's folder, master key and config");
  auto a = std::make_shared<InitArgs>();
  init->add_option("--dir", a->dir, "The gateway's folder (created, mode 0700)")->required();
  init->add_option("--listen", a->listen, "S3 listen address")->capture_default_str();
  init->add_option("--k", a->k, "Data shards per stripe")->capture_default_str();
  init->add_option("--m", a->m, "Parity shards per stripe (providers that may be lost)")
      ->capture_default_str();
  init->callback([a] { RunInit(*a); });

  CLI::App* node = gw.add_subcommand("node", "Manage the gateway's nodes");
  node->require_subcommand(1);
  CLI::App* add = node->add_subcommand(
      "add", "Add a node from its provider's invite, pinning the certificate it presents");
  auto invite = std::make_shared<std::string>();
  auto config_path = std::make_shared<std::string>();
  add->add_option("invite", *invite, "The invite (mosaic-invite-1:…)")->required();
  add->add_option("--config,-c", *config_path, "The gateway's config file")->required();
  add->callback([=] { RunNodeAdd(*invite, *config_path); });
}

}  // namespace mosaic
