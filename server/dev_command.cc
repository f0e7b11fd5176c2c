// `mosaic dev`: a complete local system in one folder, each part a separate process.
// Until the gateway exists it starts storage nodes under named fake providers; it writes
// DIR/dev.json (every process, for scripts and fault drills) and DIR/dev.env.

#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/bytes.h"
#include "common/sha256.h"
#include "server/commands.h"

namespace mosaic {
namespace {

namespace fs = std::filesystem;

struct DevNode {
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

pid_t Spawn(const std::string& config, const std::string& log) {
  pid_t pid = fork();
  if (pid == 0) {
    std::FILE* f = std::freopen(log.c_str(), "a", stderr);
    (void)f;
    execl("/proc/self/exe", "mosaic", "node", "--config", config.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

// Polls for the node's address files; false if it died or took over 30 s.
bool WaitReady(DevNode& n) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(n.dir + "/grpc.addr") && fs::exists(n.dir + "/metrics.addr")) {
      n.grpc_addr = Slurp(n.dir + "/grpc.addr");
      n.metrics_addr = Slurp(n.dir + "/metrics.addr");
      return true;
    }
    int status;
    if (waitpid(n.pid, &status, WNOHANG) == n.pid) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

void WriteDescription(const std::string& dir, const std::vector<DevNode>& nodes,
                      const std::string& token) {
  std::ofstream json(dir + "/dev.json", std::ios::trunc);
  json << "{\n  \"tenant\": \"dev\",\n  \"token\": \"" << token << "\",\n  \"nodes\": [\n";
  for (size_t i = 0; i < nodes.size(); ++i) {
    const DevNode& n = nodes[i];
    json << "    {\"id\": \"" << n.id << "\", \"provider\": \"" << n.provider
         << "\", \"pid\": " << n.pid << ", \"address\": \"" << n.grpc_addr
         << "\", \"metrics\": \"" << n.metrics_addr << "\", \"dir\": \"" << n.dir
         << "\", \"config\": \"" << n.dir << "/node.toml\"}" << (i + 1 < nodes.size() ? "," : "")
         << "\n";
  }
  json << "  ]\n}\n";
  std::ofstream env(dir + "/dev.env", std::ios::trunc);
  env << "MOSAIC_DEV_TOKEN=" << token << "\n";
  for (const DevNode& n : nodes) env << "# " << n.id << " (" << n.provider << ") " << n.grpc_addr << "\n";
  chmod((dir + "/dev.env").c_str(), 0600);
}

void StopAll(const std::vector<DevNode>& nodes) {
  for (const DevNode& n : nodes) {
    if (n.pid > 0) kill(n.pid, SIGTERM);
  }
  for (const DevNode& n : nodes) {
    if (n.pid > 0) waitpid(n.pid, nullptr, 0);
  }
}

void RunDev(const std::string& dir_arg, int providers, int nodes_per_provider) {
  std::string dir = fs::absolute(dir_arg).string();
  fs::create_directories(dir);
  std::string token_path = dir + "/.token";
  std::string token = fs::exists(token_path) ? Slurp(token_path) : RandomHex(32);
  {
    std::ofstream(token_path, std::ios::trunc) << token << "\n";
    chmod(token_path.c_str(), 0600);
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  std::vector<DevNode> nodes;
  for (int p = 0; p < providers; ++p) {
    for (int k = 0; k < nodes_per_provider; ++k) {
      DevNode n;
      n.provider = "provider-" + std::string(1, char('a' + p));
      n.id = n.provider + "-" + std::to_string(k + 1);
      n.dir = dir + "/" + n.id;
      fs::create_directories(n.dir);
      WriteNodeConfig(n, Sha256Hex(AsBytes(token)));
      n.pid = Spawn(n.dir + "/node.toml", n.dir + "/node.log");
      nodes.push_back(n);
    }
  }
  for (DevNode& n : nodes) {
    if (!WaitReady(n)) {
      std::fprintf(stderr, "mosaic dev: node %s did not start; see %s/node.log\n", n.id.c_str(),
                   n.dir.c_str());
      StopAll(nodes);
      throw CLI::RuntimeError(1);
    }
  }
  WriteDescription(dir, nodes, token);
  std::printf("mosaic dev: %zu nodes at %d providers are up (plaintext, loopback)\n",
              nodes.size(), providers);
  for (const DevNode& n : nodes) {
    std::printf("  %-14s %-12s grpc %s  metrics http://%s/metrics\n", n.id.c_str(),
                n.provider.c_str(), n.grpc_addr.c_str(), n.metrics_addr.c_str());
  }
  std::printf("tenant \"dev\", token in %s/dev.env; processes in %s/dev.json\n"
              "Ctrl-C stops everything.\n",
              dir.c_str(), dir.c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  std::printf("mosaic dev: stopping\n");
  StopAll(nodes);
}

}  // namespace

void AddDevCommand(CLI::App& app) {
  CLI::App* dev = app.add_subcommand("dev", "Start a complete local system in one folder");
  auto dir = std::make_shared<std::string>("dev-data");
  auto providers = std::make_shared<int>(3);
  auto per_provider = std::make_shared<int>(2);
  dev->add_option("--dir", *dir, "Folder for every process's data")->capture_default_str();
  dev->add_option("--providers", *providers, "Fake providers")->check(CLI::Range(1, 16));
  dev->add_option("--nodes-per-provider", *per_provider, "Nodes per provider")
      ->check(CLI::Range(1, 8));
  dev->callback([=] { RunDev(*dir, *providers, *per_provider); });
}

}  // namespace mosaic
