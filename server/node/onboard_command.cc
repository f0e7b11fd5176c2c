// `mosaic node init` and `mosaic node tenant add`: a provider's onboarding. init makes the
// node's folder, TLS identity and config; tenant add gives a group a token and a quota and
// prints the one-line invite the group's `mosaic gateway node add` takes.

#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "common/bytes.h"
#include "common/metrics_server.h"
#include "common/sha256.h"
#include "common/tls_cert.h"
#include "common/toml_config.h"
#include "common/units.h"
#include "server/commands.h"
#include "server/node/config.h"
#include "server/node/tenant_admin.h"

namespace mosaic {
namespace {

using config::Quote;
using config::WriteNewFile;

[[noreturn]] void Fail(const std::string& command, const std::string& why, int code = 1) {
  std::fprintf(stderr, "mosaic node %s: %s\n", command.c_str(), why.c_str());
  throw CLI::RuntimeError(code);
}

void FailIfError(const std::string& command, const absl::Status& s) {
  if (!s.ok()) Fail(command, std::string(s.message()));
}

struct InitArgs {
  std::string dir, provider, id, listen = "0.0.0.0:7400", advertise;
};

// The address groups reach the node at: --advertise, else the listen address with the
// machine's host name in place of a wildcard host.
std::string AdvertiseAddress(const InitArgs& a) {
  if (!a.advertise.empty()) return a.advertise;
  auto hp = metrics::SplitHostPort(a.listen);
  if (!hp.ok()) Fail("init", "--listen " + a.listen + ": " + std::string(hp.status().message()), 2);
  if (hp->first != "0.0.0.0" && hp->first != "::" && !hp->first.empty()) return a.listen;
  char host[HOST_NAME_MAX + 1] = {};
  if (gethostname(host, sizeof host - 1) != 0) Fail("init", "gethostname failed");
  return std::string(host) + ":" + std::to_string(hp->second);
}

void RunInit(InitArgs a) {
  if (a.id.empty()) a.id = a.provider + "-1";
  std::string advertise = AdvertiseAddress(a);
  auto host = metrics::SplitHostPort(advertise);
  if (!host.ok())
    Fail("init", "--advertise " + advertise + ": " + std::string(host.status().message()), 2);
  auto folder = config::MakePrivateFolder(a.dir, "node.toml");
  FailIfError("init", folder.status());
  const std::string& dir = *folder;
  std::string config_path = dir + "/node.toml";
  auto identity = tls::MakeSelfSigned(host->first);
  FailIfError("init", identity.status());
  FailIfError("init", WriteNewFile(dir + "/node.key", identity->key_pem, 0600, true));
  FailIfError("init", WriteNewFile(dir + "/node.crt", identity->cert_pem, 0644, true));
  std::string toml =
      "# Written by `mosaic node init`; deploy/node.toml documents every key.\n"
      "node_id = " +
      Quote(a.id) + "\nprovider = " + Quote(a.provider) + "\nadvertise = " + Quote(advertise) +
      "\ndata_dir = " + Quote(dir) + "\nlisten = " + Quote(a.listen) +
      "\n\n[tls]\ncert = " + Quote(dir + "/node.crt") + "\nkey = " + Quote(dir + "/node.key") +
      "\n";
  FailIfError("init", WriteNewFile(config_path, toml, 0600));
  auto fingerprint = tls::Fingerprint(identity->cert_pem);
  FailIfError("init", fingerprint.status());
  std::printf(
      "created %s (mode 0700):\n"
      "  node.key   TLS private key (0600)\n"
      "  node.crt   self-signed certificate for %s, %s\n"
      "  node.toml  node %s of provider %s, listening on %s, reached at %s\n"
      "next: give a group a tenant and send it the invite this prints:\n"
      "  mosaic node tenant add GROUP --quota 100GiB --config %s\n"
      "then run the node: mosaic node --config %s\n",
      dir.c_str(), host->first.c_str(), fingerprint->c_str(), a.id.c_str(), a.provider.c_str(),
      a.listen.c_str(), advertise.c_str(), config_path.c_str(), config_path.c_str());
}

std::string Base64Url(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
  return out;
}

std::string NewToken() {
  unsigned char raw[32];
  if (getrandom(raw, sizeof raw, 0) != static_cast<ssize_t>(sizeof raw)) {
    Fail("tenant add", "no randomness");
  }
  return HexEncode({reinterpret_cast<const std::byte*>(raw), sizeof raw});
}

void RunTenantAdd(const std::string& name, const std::string& quota,
                  const std::string& config_path) {
  auto config = node::LoadNodeConfig(config_path);
  if (!config.ok()) Fail("tenant add", std::string(config.status().message()), 2);
  auto quota_bytes = ParseSize(quota);
  if (!quota_bytes.ok())
    Fail("tenant add", "--quota " + quota + ": " + std::string(quota_bytes.status().message()), 2);
  for (const node::TenantConfig& t : config->tenants) {
    if (t.name == name) Fail("tenant add", "tenant " + name + " exists in " + config_path, 2);
  }
  if (config->tls_cert.empty()) Fail("tenant add", config_path + " has no [tls] cert", 2);
  auto cert = config::ReadFile(config->tls_cert);
  FailIfError("tenant add", cert.status());
  auto fingerprint = tls::Fingerprint(*cert);
  FailIfError("tenant add", fingerprint.status());
  std::string token = NewToken();
  auto text = config::ReadFile(config_path);
  FailIfError("tenant add", text.status());
  std::string updated =
      *text + (text->ends_with("\n") ? "" : "\n") + "\n[[tenant]]\nname = " + Quote(name) +
      "\ntoken_sha256 = " + Quote(Sha256Hex(AsBytes(token))) + "\nquota = " + Quote(quota) + "\n";
  // Checked before it replaces the file, so a bad name never leaves a config that fails.
  auto check = node::ParseNodeConfig(updated);
  if (!check.ok()) Fail("tenant add", std::string(check.status().message()), 2);
  FailIfError("tenant add", WriteNewFile(config_path, updated, 0600, true));
  bool signalled = node::SignalRunningNode(config->store.dir);
  std::string address = config->advertise.empty() ? config->listen : config->advertise;
  // Quote's TOML basic strings are JSON strings too (the same escapes).
  std::string invite =
      "{\"node_id\":" + Quote(config->node_id) + ",\"provider\":" + Quote(config->provider) +
      ",\"address\":" + Quote(address) + ",\"fingerprint\":" + Quote(*fingerprint) +
      ",\"token\":" + Quote(token) + "}";
  std::fprintf(stderr, "tenant %s added to %s (quota %s)%s; send the group this invite:\n",
               name.c_str(), config_path.c_str(), quota.c_str(),
               signalled ? ", the running node reloaded its tenants" : "");
  std::printf("mosaic-invite-1:%s\n", Base64Url(invite).c_str());
  auto disk = node::DiskCapacityBytes(config->store.dir);
  auto added = node::ParseNodeConfig(updated);
  if (disk.ok() && added.ok()) {
    if (auto w = node::QuotasOverDisk(added->tenants, *disk)) {
      std::fprintf(stderr, "warning: %s\n", w->c_str());
    }
  }
}

}  // namespace

void AddNodeOnboardCommands(CLI::App& node) {
  CLI::App* init = node.add_subcommand(
      "init", "Create a node's folder, TLS key, self-signed certificate and config");
  auto a = std::make_shared<InitArgs>();
  init->add_option("--dir", a->dir, "The node's data folder (created, mode 0700)")->required();
  init->add_option("--provider", a->provider, "Your provider's name (the failure domain)")
      ->required();
  init->add_option("--id", a->id, "The node's id (default PROVIDER-1)");
  init->add_option("--listen", a->listen, "Address the node listens on")->capture_default_str();
  init->add_option("--advertise", a->advertise,
                   "Address groups reach the node at (default: --listen, with this machine's "
                   "host name for 0.0.0.0); the certificate is made for its host");
  init->callback([a] { RunInit(*a); });

  CLI::App* tenant = node.add_subcommand("tenant", "Manage the groups that store on this node");
  tenant->require_subcommand(1);
  CLI::App* add = tenant->add_subcommand(
      "add", "Give a group a token and a quota; prints the invite to send it (one line)");
  auto name = std::make_shared<std::string>();
  auto quota = std::make_shared<std::string>();
  auto config_path = std::make_shared<std::string>();
  add->add_option("name", *name, "The group's name")->required();
  add->add_option("--quota", *quota, "Most bytes it may store (e.g. 500GiB)")->required();
  add->add_option("--config,-c", *config_path, "The node's config file")->required();
  add->callback([=] { RunTenantAdd(*name, *quota, *config_path); });
  AddNodeTenantCommands(*tenant);
}

}  // namespace mosaic
