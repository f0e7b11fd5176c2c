// `mosaic dev`: a complete local system in one folder, each part a separate process: storage
// nodes under named fake providers and an S3 gateway on 127.0.0.1. The first run creates a
// master key and an access key; later runs on the same folder keep data and credentials.
// Writes DIR/dev.env (AWS_* variables) and DIR/dev.json (every process, for scripts and
// fault drills). With --metadata postgresql it also runs a PostgreSQL of its own in
// DIR/postgres (meta/local_postgres.h) and --gateways N gateways on it, each on its own port.

#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "client/crypto/key_file.h"
#include "common/bytes.h"
#include "common/sha256.h"
#include "server/commands.h"
#include "server/gateway/admin_client.h"
#include "server/gateway/meta/local_postgres.h"

namespace mosaic {
namespace {

namespace fs = std::filesystem;

struct DevNode {
  std::string role = "node";
  std::string id;
  std::string provider;
  std::string dir;
  pid_t pid = -1;
  std::string grpc_addr;
  std::string metrics_addr;
};

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (getrandom(raw.data(), raw.size(), 0) != static_cast<ssize_t>(raw.size())) {
    throw CLI::RuntimeError("cannot read random bytes", 1);
  }
  return HexEncode(AsBytes(raw));
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

void WriteNodeConfig(const DevNode& n, const std::string& token_hash) {
  std::ofstream out(n.dir + "/node.toml", std::ios::trunc);
  out << "node_id = \"" << n.id << "\"\n"
      << "data_dir = \"" << n.dir << "\"\n"
      << "listen = \"127.0.0.1:0\"\n"
      << "metrics_listen = \"127.0.0.1:0\"\n"
      << "[tls]\nplaintext = true\n"
      << "[storage]\nsegment_size = \"64MiB\"\nreserved_free = \"64MiB\"\n"
      << "[scrub]\nrate = \"8MiB\"\ninterval = \"1h\"\n"
      << "[[tenant]]\nname = \"dev\"\ntoken_sha256 = \"" << token_hash << "\"\n";
}

pid_t Spawn(const char* role, const std::string& config, const std::string& log) {
  pid_t pid = fork();
  if (pid == 0) {
    std::FILE* f = std::freopen(log.c_str(), "a", stderr);
    (void)f;
    execl("/proc/self/exe", "mosaic", role, "--config", config.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

std::string MainAddressFile(const DevNode& n) {
  return n.dir + (n.role == "node" ? "/grpc.addr" : "/s3.addr");
}
std::string SideAddressFile(const DevNode& n) {
  return n.dir + (n.role == "node" ? "/metrics.addr" : "/admin.addr");
}

// Starts the process of `n`. Address files left by an earlier run (a process killed, or one
// that did not remove them) are removed first, so that WaitReady never takes a stale port
// for the new one's.
void Launch(DevNode& n, const std::string& config, const std::string& log) {
  std::error_code ignored;
  fs::remove(MainAddressFile(n), ignored);
  fs::remove(SideAddressFile(n), ignored);
  n.pid = Spawn(n.role.c_str(), config, log);
}

// Polls for the process's address files; false if it died or took over 30 s.
bool WaitReady(DevNode& n) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::string main = MainAddressFile(n);
  std::string side = SideAddressFile(n);
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(main) && fs::exists(side)) {
      n.grpc_addr = Slurp(main);
      n.metrics_addr = Slurp(side);
      return true;
    }
    int status;
    if (waitpid(n.pid, &status, WNOHANG) == n.pid) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// The dev system's metadata: RocksDB in each gateway's folder, or the dev PostgreSQL.
struct DevMetadata {
  std::optional<gateway::meta::LocalPostgres> postgres;
  std::string dsn;  // "" = RocksDB
};

struct Credentials {
  std::string id;
  std::string secret;
};

void WriteGatewayConfig(const std::string& dir, const DevNode& gw,
                        const std::vector<DevNode>& nodes, const std::string& token, int port,
                        int console_port, const std::string& node_down_after,
                        const std::string& backup_lag, const DevMetadata& metadata) {
  // The config holds the node tokens: readable by its owner only, from its first byte.
  std::string path = gw.dir + "/gateway.toml";
  std::ofstream(path, std::ios::trunc).close();
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
  std::ofstream out(path, std::ios::trunc);
  out << "listen = \"127.0.0.1:" << port << "\"\n"
      << "admin_listen = \"127.0.0.1:0\"\n"
      << "data_dir = \"" << gw.dir << "\"\n"
      << "console_listen = \"127.0.0.1:" << console_port << "\"\n"
      << "key_file = \"" << dir << "/master.key\"\n"
      << "region = \"us-east-1\"\n";
  if (!node_down_after.empty()) {
    // Tests of repair: a node is declared down soon, and checked for every second.
    out << "node_down_after = \"" << node_down_after << "\"\n"
        << "failure_check_interval = \"1s\"\n";
  }
  if (!backup_lag.empty()) out << "backup_lag = \"" << backup_lag << "\"\n";
  if (!metadata.dsn.empty()) {
    out << "[metadata]\nbackend = \"postgresql\"\ndsn = \"" << metadata.dsn << "\"\n";
  }
  out << "[erasure]\nk = 4\nm = 2\n";
  for (const DevNode& n : nodes) {
    out << "[[node]]\nid = \"" << n.id << "\"\nprovider = \"" << n.provider << "\"\n"
        << "address = \"" << n.grpc_addr << "\"\ntoken = \"" << token << "\"\n"
        << "plaintext = true\n";
  }
}

// The access key of the dev system: read from DIR/credentials, or created through the
// gateway's admin API on the first run.
Credentials DevCredentials(const std::string& dir, const DevNode& gateway) {
  std::string path = dir + "/credentials";
  std::ifstream in(path);
  Credentials c;
  if (in && std::getline(in, c.id) && std::getline(in, c.secret) && !c.secret.empty()) return c;
  auto body = gateway::AdminRequest(gateway.metrics_addr, Slurp(gateway.dir + "/admin.token"),
                                    "POST", "/admin/v1/keys?name=dev&grant=%2A%3Aowner");
  if (!body.ok()) {
    std::fprintf(stderr, "mosaic dev: cannot create an access key: %s\n",
                 body.status().ToString().c_str());
    throw CLI::RuntimeError(1);
  }
  auto field = [&](const std::string& name) {
    size_t at = body->find("\"" + name + "\": \"");
    if (at == std::string::npos) return std::string();
    at += name.size() + 5;
    return body->substr(at, body->find('"', at) - at);
  };
  c = {field("id"), field("secret")};
  std::ofstream(path, std::ios::trunc) << c.id << "\n" << c.secret << "\n";
  chmod(path.c_str(), 0600);
  return c;
}

// The console's admin of the dev system (issue 15): read from DIR/console-credentials, or
// created with `mosaic member add admin --admin`'s admin API call on the first run.
struct ConsoleLogin {
  std::string url;
  std::string user = "admin";
  std::string password;
};

ConsoleLogin DevConsole(const std::string& dir, const DevNode& gateway) {
  ConsoleLogin c;
  c.url = "http://" + Slurp(gateway.dir + "/console.addr") + "/";
  std::string path = dir + "/console-credentials";
  std::ifstream in(path);
  if (in && std::getline(in, c.password) && !c.password.empty()) return c;
  auto body = gateway::AdminRequest(gateway.metrics_addr, Slurp(gateway.dir + "/admin.token"),
                                    "POST", "/admin/v1/members?name=admin&admin=1");
  size_t at = body.ok() ? body->find("\"password\":\"") : std::string::npos;
  if (at == std::string::npos) {
    std::fprintf(stderr, "mosaic dev: cannot create the console's admin: %s\n",
                 body.ok() ? body->c_str() : body.status().ToString().c_str());
    throw CLI::RuntimeError(1);
  }
  at += 12;
  c.password = body->substr(at, body->find('"', at) - at);
  std::ofstream(path, std::ios::trunc) << c.password << "\n";
  chmod(path.c_str(), 0600);
  return c;
}

void WriteDescription(const std::string& dir, const std::vector<DevNode>& procs,
                      const Credentials& creds, const std::vector<std::string>& endpoints,
                      const DevMetadata& metadata, const ConsoleLogin& console) {
  const std::string& endpoint = endpoints.front();
  std::ofstream json(dir + "/dev.json", std::ios::trunc);
  json << "{\n  \"endpoint\": \"" << endpoint << "\",\n  \"endpoints\": [";
  for (size_t i = 0; i < endpoints.size(); ++i) {
    json << (i ? ", " : "") << "\"" << endpoints[i] << "\"";
  }
  json << "],\n  \"region\": \"us-east-1\",\n  \"console\": \"" << console.url << "\",\n";
  if (metadata.postgres) {
    json << "  \"database\": {\"backend\": \"postgresql\", \"dsn\": \"" << metadata.dsn
         << "\", \"dir\": \"" << metadata.postgres->dir() << "\"},\n";
  } else {
    json << "  \"database\": {\"backend\": \"rocksdb\"},\n";
  }
  json << "  \"processes\": [\n";
  for (size_t i = 0; i < procs.size(); ++i) {
    const DevNode& n = procs[i];
    bool node = n.role == "node";
    json << "    {\"role\": \"" << n.role << "\", \"id\": \"" << n.id << "\", \"provider\": \""
         << n.provider << "\", \"pid\": " << n.pid << ", \"address\": \"" << n.grpc_addr << "\", \""
         << (node ? "metrics" : "admin") << "\": \"" << n.metrics_addr << "\", \"dir\": \"" << n.dir
         << "\", \"config\": \"" << n.dir << (node ? "/node.toml" : "/gateway.toml") << "\"}"
         << (i + 1 < procs.size() ? "," : "") << "\n";
  }
  json << "  ]\n}\n";
  std::ofstream env(dir + "/dev.env", std::ios::trunc);
  env << "AWS_ENDPOINT_URL=" << endpoint << "\nAWS_ACCESS_KEY_ID=" << creds.id
      << "\nAWS_SECRET_ACCESS_KEY=" << creds.secret << "\nAWS_DEFAULT_REGION=us-east-1\n"
      << "MOSAIC_ENDPOINTS=\"";
  for (size_t i = 0; i < endpoints.size(); ++i) env << (i ? " " : "") << endpoints[i];
  env << "\"\n";
  env << "MOSAIC_CONSOLE_URL=" << console.url << "\nMOSAIC_CONSOLE_USER=" << console.user
      << "\nMOSAIC_CONSOLE_PASSWORD=" << console.password << "\n";
  chmod((dir + "/dev.env").c_str(), 0600);
}

// Stops the gateways first (they finish their requests), then the nodes, then the database.
void StopAll(const std::vector<DevNode>& procs, DevMetadata* metadata = nullptr) {
  for (auto it = procs.rbegin(); it != procs.rend(); ++it) {
    if (it->pid <= 0) continue;
    kill(it->pid, SIGTERM);
    if (it->role == "gateway") waitpid(it->pid, nullptr, 0);
  }
  for (const DevNode& n : procs) {
    if (n.pid > 0 && n.role == "node") waitpid(n.pid, nullptr, 0);
  }
  if (metadata && metadata->postgres) {
    if (auto s = metadata->postgres->Stop(); !s.ok()) {
      std::fprintf(stderr, "mosaic dev: %s\n", s.ToString().c_str());
    }
  }
}

// The dev PostgreSQL in DIR/postgres, started, with its database `mosaic`. Run as `nobody`
// when we are root: DIR must then be enterable by others (only its folder's name is needed;
// the secrets in it stay owner-only).
DevMetadata StartDevPostgres(const std::string& dir) {
  DevMetadata m;
  if (geteuid() == 0) {
    fs::permissions(dir, fs::perms::others_exec, fs::perm_options::add);
  }
  auto pg = gateway::meta::LocalPostgres::Start(dir + "/postgres", {});
  absl::Status created = pg.ok() ? pg->CreateDatabase("mosaic") : pg.status();
  if (!created.ok()) {
    std::fprintf(stderr, "mosaic dev: PostgreSQL: %s\n", created.ToString().c_str());
    throw CLI::RuntimeError(1);
  }
  m.dsn = pg->Dsn("mosaic");
  m.postgres = std::move(*pg);
  return m;
}

void StartOrFail(std::vector<DevNode>& procs, DevNode& n, DevMetadata* metadata = nullptr) {
  if (!WaitReady(n)) {
    std::fprintf(stderr, "mosaic dev: %s did not start; see its log in %s\n", n.id.c_str(),
                 n.dir.c_str());
    StopAll(procs, metadata);
    throw CLI::RuntimeError(1);
  }
}

struct DevOptions {
  int providers = 6;
  int nodes_per_provider = 1;
  int port = 9000;
  int console_port = 9001;  // the first gateway's; the others pick free ports
  std::string node_down_after;
  std::string backup_lag;
  int gateways = 1;
  std::string metadata = "rocksdb";
};

// Starts the gateways (the first on --port, the others on free ports), each in its own
// folder (DIR/gateway, DIR/gateway-2, …), all on the dev metadata, each with its console
// (the first on --console-port).
void StartGateways(const std::string& dir, const DevOptions& o, const std::string& token,
                   std::vector<DevNode>& procs, DevMetadata& metadata) {
  std::vector<DevNode> nodes = procs;
  for (int g = 0; g < o.gateways; ++g) {
    DevNode gw;
    gw.role = "gateway";
    gw.id = g == 0 ? "gateway" : "gateway-" + std::to_string(g + 1);
    gw.dir = dir + "/" + gw.id;
    fs::create_directories(gw.dir);
    // The gateway's folder holds its metadata, admin token and config: its owner's only.
    fs::permissions(gw.dir, fs::perms::owner_all, fs::perm_options::replace);
    WriteGatewayConfig(dir, gw, nodes, token, g == 0 ? o.port : 0, g == 0 ? o.console_port : 0,
                       o.node_down_after, o.backup_lag, metadata);
    Launch(gw, gw.dir + "/gateway.toml", gw.dir + "/gateway.log");
    procs.push_back(gw);
    // One at a time: the first creates (migrates) the schema.
    StartOrFail(procs, procs.back(), &metadata);
  }
}

void RunDev(const std::string& dir_arg, const DevOptions& o) {
  int providers = o.providers, nodes_per_provider = o.nodes_per_provider;
  std::string dir = fs::absolute(dir_arg).string();
  fs::create_directories(dir);
  std::string token_path = dir + "/.token";
  std::string token = fs::exists(token_path) ? Slurp(token_path) : RandomHex(32);
  {
    std::ofstream(token_path, std::ios::trunc) << token << "\n";
    chmod(token_path.c_str(), 0600);
  }
  if (!fs::exists(dir + "/master.key")) {
    if (auto k = client::WriteNewKeyFile(dir + "/master.key"); !k.ok()) {
      std::fprintf(stderr, "mosaic dev: %s\n", k.status().ToString().c_str());
      throw CLI::RuntimeError(1);
    }
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  std::vector<DevNode> procs;
  for (int p = 0; p < providers; ++p) {
    for (int k = 0; k < nodes_per_provider; ++k) {
      DevNode n;
      n.provider = "provider-" + std::string(1, char('a' + p));
      n.id = n.provider + "-" + std::to_string(k + 1);
      n.dir = dir + "/" + n.id;
      fs::create_directories(n.dir);
      WriteNodeConfig(n, Sha256Hex(AsBytes(token)));
      Launch(n, n.dir + "/node.toml", n.dir + "/node.log");
      procs.push_back(n);
    }
  }
  DevMetadata metadata;
  if (o.metadata == "postgresql") metadata = StartDevPostgres(dir);
  for (DevNode& n : procs) StartOrFail(procs, n, &metadata);
  StartGateways(dir, o, token, procs, metadata);
  size_t first_gateway = procs.size() - o.gateways;
  Credentials creds = DevCredentials(dir, procs[first_gateway]);
  std::vector<std::string> endpoints;
  for (size_t i = first_gateway; i < procs.size(); ++i) {
    endpoints.push_back("http://" + procs[i].grpc_addr);
  }
  const std::string& endpoint = endpoints.front();
  // The console's first admin lives in the shared metadata: created once, through the first.
  ConsoleLogin console = DevConsole(dir, procs[first_gateway]);
  WriteDescription(dir, procs, creds, endpoints, metadata, console);
  std::printf(
      "mosaic dev: S3 gateway at %s over %d nodes at %d providers (4+2)\n%s\n"
      "  AWS_ACCESS_KEY_ID=%s\n  AWS_SECRET_ACCESS_KEY=%s\n\n"
      "Web console: %s (user %s, password %s)\n\n"
      "Try it (the same variables are in %s/dev.env):\n"
      "  set -a; . %s/dev.env; set +a\n"
      "  aws --endpoint-url \"$AWS_ENDPOINT_URL\" s3 mb s3://demo\n"
      "  aws --endpoint-url \"$AWS_ENDPOINT_URL\" s3 cp README.md s3://demo/\n"
      "  aws --endpoint-url \"$AWS_ENDPOINT_URL\" s3 ls s3://demo/\n\n"
      "Processes are listed in %s/dev.json. Ctrl-C stops everything.\n",
      endpoint.c_str(), providers * nodes_per_provider, providers,
      o.gateways > 1 || metadata.postgres
          ? ("  " + std::to_string(o.gateways) + " gateway(s), metadata in " + o.metadata +
             (o.gateways > 1 ? "; all endpoints in MOSAIC_ENDPOINTS" : "") + "\n")
                .c_str()
          : "",
      creds.id.c_str(), creds.secret.c_str(), console.url.c_str(), console.user.c_str(),
      console.password.c_str(), dir.c_str(), dir.c_str(), dir.c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  std::printf("mosaic dev: stopping\n");
  StopAll(procs, &metadata);
}

}  // namespace

void AddDevCommand(CLI::App& app) {
  CLI::App* dev = app.add_subcommand("dev", "Start a complete local system in one folder");
  auto dir = std::make_shared<std::string>("dev-data");
  auto providers = std::make_shared<int>(6);
  auto per_provider = std::make_shared<int>(1);
  auto port = std::make_shared<int>(9000);
  auto console_port = std::make_shared<int>(-1);
  auto node_down_after = std::make_shared<std::string>();
  dev->add_option("--dir", *dir, "Folder for every process's data")->capture_default_str();
  dev->add_option("--providers", *providers, "Fake providers")->check(CLI::Range(1, 16));
  dev->add_option("--nodes-per-provider", *per_provider, "Nodes per provider")
      ->check(CLI::Range(1, 8));
  dev->add_option("--port", *port, "S3 port on 127.0.0.1 (0 picks a free one)")
      ->check(CLI::Range(0, 65535));
  dev->add_option("--console-port", *console_port,
                  "Web console port on 127.0.0.1 (0 picks a free one). Default: the S3 port + "
                  "1, or a free one with --port 0")
      ->check(CLI::Range(-1, 65535));
  dev->add_option("--node-down-after", *node_down_after,
                  "Declare a node down after this long unreachable (e.g. 2s; for tests of "
                  "repair; also checks every second). Default: the gateway's 10m");
  auto backup_lag = std::make_shared<std::string>();
  dev->add_option("--backup-lag", *backup_lag,
                  "Back the gateway's metadata up to the nodes this often (e.g. 1s; for tests "
                  "of restore). Default: the gateway's 60s");
  auto gateways = std::make_shared<int>(1);
  dev->add_option("--gateways", *gateways,
                  "S3 gateways serving the same buckets (more than one needs --metadata "
                  "postgresql); the first on --port, the others on free ports")
      ->check(CLI::Range(1, 8));
  auto metadata = std::make_shared<std::string>("rocksdb");
  dev->add_option("--metadata", *metadata,
                  "Where the gateways keep metadata: rocksdb (in the gateway's folder) or "
                  "postgresql (a PostgreSQL of its own in DIR/postgres, on a Unix socket)")
      ->check(CLI::IsMember({"rocksdb", "postgresql"}))
      ->capture_default_str();
  dev->callback([=] {
    if (*gateways > 1 && *metadata != "postgresql") {
      throw CLI::ValidationError("--gateways", "more than one gateway needs --metadata postgresql");
    }
    int console = *console_port >= 0 ? *console_port : *port == 0 ? 0 : *port + 1;
    RunDev(*dir, DevOptions{*providers, *per_provider, *port, console, *node_down_after,
                            *backup_lag, *gateways, *metadata});
  });
}

}  // namespace mosaic
