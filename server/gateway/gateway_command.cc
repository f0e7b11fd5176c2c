// `mosaic gateway --config FILE` and `mosaic key create|list|delete`.

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <cstdio>
#include <fstream>
#include <utility>

#include "client/crypto/key_file.h"
#include "common/daemon.h"
#include "common/logging.h"
#include "common/toml_config.h"
#include "server/commands.h"
#include "server/gateway/admin.h"
#include "server/gateway/admin_client.h"
#include "server/gateway/config.h"
#include "server/gateway/gateway.h"
#include "server/gateway/grant_text.h"
#include "server/gateway/key_rotation.h"
#include "server/gateway/meta/meta_store.h"
#include "server/gateway/s3/router.h"
#include "server/gateway/s3/sigv4.h"

namespace mosaic {

void AddScrubCommand(CLI::App& app);  // scrub_command.cc

namespace {

gateway::GatewayConfig LoadOrExit(const std::string& path) {
  auto config = gateway::LoadGatewayConfig(path);
  if (config.ok()) {
    if (auto s = config::CheckReadable(path, "key_file", config->key_file); !s.ok()) config = s;
  }
  if (!config.ok()) {
    std::fprintf(stderr, "mosaic gateway: %s\n", std::string(config.status().message()).c_str());
    throw CLI::RuntimeError(2);
  }
  return *config;
}

// The master key: a passphrase-mode file takes its passphrase from client::PassphraseSources.
client::KeyRing OpenKeyOrExit(const std::string& key_file, int passphrase_fd) {
  auto ring = client::OpenKeyFile(key_file, client::ProcessPassphraseSources(passphrase_fd, false));
  if (!ring.ok()) {
    std::fprintf(stderr, "mosaic gateway: key file %s: %s\n", key_file.c_str(),
                 std::string(ring.status().message()).c_str());
    throw CLI::RuntimeError(2);
  }
  return std::move(*ring);
}

// Sends an admin request to the running gateway of `config_path`.
std::string Admin(const std::string& config_path, const std::string& method,
                  const std::string& target) {
  gateway::AdminTarget t = gateway::AdminTargetOrExit(config_path);
  auto body = gateway::AdminRequest(t.address, t.token, method, target);
  if (!body.ok()) {
    std::fprintf(stderr, "mosaic: %s\n", body.status().ToString().c_str());
    throw CLI::RuntimeError(1);
  }
  return *body;
}

}  // namespace

gateway::AdminTarget gateway::AdminTargetOrExit(const std::string& config_path) {
  auto target = FindAdmin(config_path);
  if (!target.ok()) {
    std::fprintf(stderr, "mosaic: %s\n", std::string(target.status().message()).c_str());
    throw CLI::RuntimeError(target.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1);
  }
  return *target;
}

namespace {

// `mosaic key rotate-master`: the gateway must be stopped (its metadata store is opened here).
int RotateMaster(const std::string& config_path, const std::string& new_key_file, size_t batch) {
  gateway::GatewayConfig config = LoadOrExit(config_path);
  client::KeyRing old_ring = OpenKeyOrExit(config.key_file, -1);
  client::KeyRing new_ring = OpenKeyOrExit(new_key_file, -1);
  auto meta = gateway::MetaStore::Open(config.data_dir + "/meta");
  if (!meta.ok()) {
    std::fprintf(stderr,
                 "mosaic key rotate-master: cannot open the gateway's metadata (stop the gateway "
                 "first): %s\n",
                 meta.status().ToString().c_str());
    return 1;
  }
  auto report = gateway::RotateMasterKey(
      **meta, old_ring, new_ring, config.nodes, config.pipeline,
      [](const std::string& line) {
        std::printf("rotate-master: %s\n", line.c_str());
        std::fflush(stdout);
        return true;
      },
      gateway::RotationOptions{.batch = batch});
  if (!report.ok()) {
    std::fprintf(stderr, "mosaic key rotate-master: %s\n", report.status().ToString().c_str());
    return 1;
  }
  if (report->already_done) {
    std::printf("the metadata is under the new master key already: nothing to do\n");
  } else {
    std::printf("rotated: %llu pieces, %llu access keys, %llu node tokens re-sealed\n",
                static_cast<unsigned long long>(report->pieces_seen),
                static_cast<unsigned long long>(report->access_keys),
                static_cast<unsigned long long>(report->node_tokens));
  }
  std::printf(
      "set key_file = \"%s\" in %s and start the gateway: the old key file is refused from now "
      "on\n",
      new_key_file.c_str(), config_path.c_str());
  return 0;
}

void AddKeyCommands(CLI::App& app) {
  CLI::App* key = app.add_subcommand(
      "key",
      "Manage S3 access keys (the gateway must run) and rotate the master key (it must not)");
  key->require_subcommand(1);
  // `mosaic key create NAME --config FILE` as well as `mosaic key --config FILE create NAME`:
  // the subcommands below inherit this and hand --config up to `key`.
  key->fallthrough();
  auto config = std::make_shared<std::string>();
  key->add_option("--config,-c", *config, "Gateway configuration file")->required();

  CLI::App* create = key->add_subcommand("create", "Create an access key; prints its secret once");
  auto name = std::make_shared<std::string>();
  auto buckets = std::make_shared<std::vector<std::string>>();
  auto rights = std::make_shared<std::vector<std::string>>();
  auto member = std::make_shared<std::string>();
  create->add_option("name", *name, "A name for the key")->required();
  create->add_option("--bucket", *buckets,
                     "Bucket a right applies to (* = all), or BUCKET/PREFIX for only the keys "
                     "starting with PREFIX; repeatable, at least one");
  create->add_option("--allow", *rights, "read, write or owner, one per --bucket");
  create->add_option("--member", *member,
                     "The console member the key belongs to: refused unless the member holds "
                     "every right asked for; the key ends with the member");
  create->callback([=] {
    // No default grant: a key that may do everything is asked for by name (--bucket '*'
    // --allow owner), never given by omission (issue 18).
    if (buckets->empty()) {
      throw CLI::ValidationError("--bucket",
                                 "say what the key may do: --bucket NAME --allow read|write|owner "
                                 "(repeatable), or --bucket '*' --allow owner for every bucket");
    }
    if (buckets->size() != rights->size()) {
      throw CLI::ValidationError("--allow", "give one --allow per --bucket");
    }
    std::string grants;
    for (size_t i = 0; i < buckets->size(); ++i) {
      if (auto g = gateway::ParseGrant((*buckets)[i] + ":" + (*rights)[i]); !g.ok()) {
        throw CLI::ValidationError("--allow", std::string(g.status().message()));
      }
      grants += (i ? "," : "") + (*buckets)[i] + ":" + (*rights)[i];
    }
    std::string owner = member->empty() ? "" : "&member=" + gateway::UriEncode(*member, false);
    std::printf("%s", Admin(*config, "POST",
                            "/admin/v1/keys?name=" + gateway::UriEncode(*name, false) +
                                "&grant=" + gateway::UriEncode(grants, false) + owner)
                          .c_str());
    std::fprintf(stderr, "key %s%s may: %s\n", name->c_str(),
                 member->empty() ? "" : (" of member " + *member).c_str(), grants.c_str());
  });
  key->add_subcommand("list", "List access keys and their rights")->callback([=] {
    std::printf("%s", Admin(*config, "GET", "/admin/v1/keys").c_str());
  });
  CLI::App* rotate = key->add_subcommand(
      "rotate-master",
      "Rewrap every data key and re-seal the metadata and its backup under a new master key "
      "(no data is rewritten; stop the gateway first; run it again to finish after a kill)");
  auto new_key = std::make_shared<std::string>();
  auto batch = std::make_shared<size_t>(256);
  rotate->add_option("--new", *new_key, "The new master key file (made with mosaic keygen)")
      ->required();
  rotate->add_option("--batch", *batch, "Pieces rewrapped per committed step (default 256)");
  rotate->callback([=] {
    int rc = RotateMaster(*config, *new_key, *batch);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
  CLI::App* del = key->add_subcommand("delete", "Delete an access key");
  auto id = std::make_shared<std::string>();
  del->add_option("id", *id, "Access key id")->required();
  del->callback([=] {
    Admin(*config, "DELETE", "/admin/v1/keys/" + *id);
    std::printf("access key %s deleted: requests signed with it are refused from now on\n",
                id->c_str());
  });
}

}  // namespace

void AddGatewayCommand(CLI::App& app) {
  CLI::App* gw = app.add_subcommand("gateway", "Run the S3 gateway");
  auto config = std::make_shared<std::string>();
  // No CLI::ExistingFile check: LoadGatewayConfig's error is one line naming the file.
  gw->add_option("--config,-c", *config, "Gateway configuration file (TOML)");
  auto passphrase_fd = std::make_shared<int>(-1);
  gw->add_option("--passphrase-fd", *passphrase_fd,
                 "Read a passphrase-mode key file's passphrase (one line) from this descriptor");
  AddGatewayOnboardCommands(*gw);
  gw->callback([gw, config, passphrase_fd] {
    if (!gw->get_subcommands().empty()) return;  // init, node add
    if (config->empty()) throw CLI::RequiredError("--config");
    gateway::GatewayConfig loaded = LoadOrExit(*config);
    int rc = gateway::RunGateway(loaded, OpenKeyOrExit(loaded.key_file, *passphrase_fd));
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
  AddKeyCommands(app);
  AddScrubCommand(app);
}

namespace gateway {

namespace {

std::string Host(const std::string& listen) { return listen.substr(0, listen.rfind(':')); }

// Every idle client connection holds a file descriptor (limits.max_open_connections): the
// soft limit (often 1024) is raised to the hard one.
void RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) spdlog::warn("cannot raise the open file limit");
}

// Blocks SIGHUP in this thread and every thread started later, so that WaitForStop takes it.
void BlockReloadSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

// Waits for SIGTERM or SIGINT and returns which; on each SIGHUP reloads the S3 listener's TLS
// certificate and key (renewed files), keeping the old ones when the new ones do not load.
int WaitForStop(const GatewayConfig& config, Gateway& gw) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig != SIGHUP) return sig;
    if (!config.tls.enabled()) {
      spdlog::info("SIGHUP: the S3 listener serves plain HTTP, nothing to reload");
    } else if (absl::Status s = gw.ReloadTls(); !s.ok()) {
      spdlog::error("SIGHUP: TLS certificate not reloaded, the old one stays: {}", s.ToString());
    } else {
      spdlog::info("SIGHUP: TLS certificate reloaded from {}", config.tls.cert_file);
    }
  }
}

}  // namespace

int RunGateway(const GatewayConfig& config, client::KeyRing ring) {
  BlockStopSignals();
  BlockReloadSignal();
  if (auto s = InitLogging(config.log_level); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  std::remove((config.data_dir + "/s3.addr").c_str());
  std::remove((config.data_dir + "/admin.addr").c_str());
  std::remove((config.data_dir + "/console.addr").c_str());
  RaiseOpenFileLimit();
  auto gw = Gateway::Start(config, std::move(ring));
  if (!gw.ok()) {
    spdlog::error("cannot start the gateway: {}", gw.status().ToString());
    return 1;
  }
  std::string s3 = Host(config.listen) + ":" + std::to_string((*gw)->port());
  WriteAddressFile(config.data_dir + "/admin.addr",
                   Host(config.admin_listen) + ":" + std::to_string((*gw)->admin_port()));
  if ((*gw)->console_port() != 0) {
    WriteAddressFile(config.data_dir + "/console.addr",
                     Host(config.console_listen) + ":" + std::to_string((*gw)->console_port()));
  }
  WriteAddressFile(config.data_dir + "/s3.addr", s3);
  spdlog::info("mosaic gateway serving S3 on {}://{} ({} nodes, {}+{})",
               config.tls.enabled() ? "https" : "http", s3, config.nodes.size(), config.pipeline.k,
               config.pipeline.m);
  int sig = WaitForStop(config, **gw);
  spdlog::info("signal {}: finishing requests in progress", sig);
  // The CLI commands take the address files for a running gateway: gone first.
  std::remove((config.data_dir + "/s3.addr").c_str());
  std::remove((config.data_dir + "/admin.addr").c_str());
  std::remove((config.data_dir + "/console.addr").c_str());
  (*gw)->Stop();
  gw->reset();
  spdlog::info("stopped cleanly");
  return 0;
}

}  // namespace gateway
}  // namespace mosaic
