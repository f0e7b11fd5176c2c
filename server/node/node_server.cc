#include "server/node/node_server.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "common/daemon.h"
#include "common/logging.h"
#include "common/metrics_server.h"
#include "common/status.h"
#include "common/toml_config.h"
#include "common/version.h"
#include "server/node/rpc/chunk_service.h"
#include "server/node/tenant_admin.h"

namespace mosaic::node {
namespace {

constexpr auto kShutdownGrace = std::chrono::seconds(30);
constexpr int kMessageSlackBytes = 1 << 20;
// Concurrent calls one connection may carry: enough for a gateway's parallel shard puts and
// reads (more wait at the client), few enough that one connection cannot hold the memory of
// hundreds of maximal messages.
constexpr int kMaxStreamsPerConnection = 64;
// gRPC's memory for all connections and their messages, in maximal messages. Over it gRPC
// shrinks flow-control windows and then cancels calls, instead of the node growing.
constexpr int64_t kQuotaMessages = 48;
constexpr int64_t kMinQuotaBytes = int64_t{256} << 20;

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(const NodeConfig& c) {
  if (c.tls_cert.empty()) return grpc::InsecureServerCredentials();
  ASSIGN_OR_RETURN(std::string cert, config::ReadFile(c.tls_cert));
  ASSIGN_OR_RETURN(std::string key, config::ReadFile(c.tls_key));
  grpc::SslServerCredentialsOptions options;
  options.pem_key_cert_pairs.push_back({key, cert});
  return grpc::SslServerCredentials(options);
}

std::string HostOf(const std::string& listen) {
  auto hp = metrics::SplitHostPort(listen);
  if (!hp.ok()) return "127.0.0.1";
  return hp->first.find(':') != std::string::npos ? "[" + hp->first + "]" : hp->first;
}

void RegisterDiskGauges(metrics::Registry& registry, io::FileSystem& fs, SegmentStore& store,
                        const std::string& dir) {
  auto& capacity = registry.GetGauge("mosaic_node_disk_capacity_bytes", "Filesystem size.");
  auto& free = registry.GetGauge("mosaic_node_disk_free_bytes", "Filesystem free space.");
  auto& used = registry.GetGauge("mosaic_node_used_bytes", "Chunk bytes stored, all tenants.");
  auto& segments = registry.GetGauge("mosaic_node_segments", "Segment files.");
  auto& corrupt = registry.GetGauge("mosaic_node_scrub_passes", "Completed scrub passes.");
  registry.AddRefresher([&, dir] {
    if (auto space = fs.GetSpace(dir); space.ok()) {
      capacity.Set(double(space->capacity_bytes));
      free.Set(double(space->free_bytes));
    }
    used.Set(double(store.TotalUsedBytes()));
    segments.Set(double(store.SegmentCount()));
    corrupt.Set(double(store.Scrub().passes));
  });
}

// The file system with the configured I/O engine, saying which one serves; null (after
// logging why) when io_uring is required and unavailable.
std::unique_ptr<io::FileSystem> OpenFileSystem(io::IoEngine requested) {
  auto engine = io::ResolveIoEngine(requested);
  if (!engine.ok()) {
    spdlog::error("storage.io_engine = \"io_uring\": {}", engine.status().ToString());
    return nullptr;
  }
  if (engine->engine == io::IoEngine::kUring) {
    spdlog::info("I/O through io_uring");
  } else {
    spdlog::warn("I/O through pread/pwrite with fdatasync, not io_uring ({})", engine->reason);
  }
  return io::NewLocalFileSystem(engine->engine);
}

// Logs a warning when the tenants' quotas promise more than the disk holds (issue 20).
void WarnIfQuotasOverDisk(const std::vector<TenantConfig>& tenants, const std::string& dir) {
  auto disk = DiskCapacityBytes(dir);
  if (!disk.ok()) return;
  if (auto warning = QuotasOverDisk(tenants, *disk)) spdlog::warn("{}", *warning);
}

// Blocks SIGHUP in this thread and every thread started later, so that WaitForSignal
// receives it (with the stop signals, blocked by BlockStopSignals).
void BlockReloadSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

// Waits for SIGTERM or SIGINT, reloading the tenants of `config_path` on each SIGHUP.
int WaitForStop(const std::string& config_path, TenantRegistry& tenants) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  for (;;) {
    int sig = 0;
    sigwait(&set, &sig);
    if (sig != SIGHUP) return sig;
    if (config_path.empty()) continue;
    auto reloaded = LoadNodeConfig(config_path);
    if (!reloaded.ok()) {
      spdlog::error("SIGHUP: tenants not reloaded: {}", reloaded.status().ToString());
      continue;
    }
    tenants.Replace(reloaded->tenants);
    WarnIfQuotasOverDisk(reloaded->tenants, reloaded->store.dir);
    spdlog::info("SIGHUP: {} tenant(s) from {}", reloaded->tenants.size(), config_path);
  }
}

}  // namespace

int RunNode(const NodeConfig& config, const std::string& config_path) {
  // The stop and reload signals are blocked in every thread; the main thread waits for them.
  BlockStopSignals();
  BlockReloadSignal();

  if (auto s = InitLogging(config.log_level); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  const std::string& dir = config.store.dir;
  std::remove((dir + "/grpc.addr").c_str());
  std::remove((dir + "/metrics.addr").c_str());

  metrics::Registry registry;
  std::unique_ptr<io::FileSystem> fs = OpenFileSystem(config.io_engine);
  if (fs == nullptr) return 1;
  StoreOptions options = config.store;
  options.metrics = &registry;
  auto store = SegmentStore::Open(options, fs.get());
  if (!store.ok()) {
    spdlog::error("cannot open the store in {}: {}", dir, store.status().ToString());
    return 1;
  }
  TenantRegistry tenants(config.tenants);
  WarnIfQuotasOverDisk(config.tenants, dir);
  auto fences = FenceStore::Open(dir);
  if (!fences.ok()) {
    spdlog::error("cannot open the fences in {}: {}", dir, fences.status().ToString());
    return 1;
  }
  ChunkServiceImpl service(**store, tenants, *fs, registry, config.node_id, dir, fences->get());
  RegisterDiskGauges(registry, *fs, **store, dir);

  auto creds = Credentials(config);
  if (!creds.ok()) {
    spdlog::error("TLS: {}", creds.status().ToString());
    return 1;
  }
  // The health check is the chunk service's (chunk_service.h): gRPC's own would read a
  // message of up to max_message from any client before answering.
  grpc::EnableDefaultHealthCheckService(false);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config.listen, *creds, &port);
  builder.RegisterCallbackGenericService(&service);
  int max_message = static_cast<int>(config.store.max_chunk_bytes) + kMessageSlackBytes;
  builder.SetMaxReceiveMessageSize(max_message);
  builder.SetMaxSendMessageSize(max_message);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, kMaxStreamsPerConnection);
  // Without BDP probing, a call's stream window stays at HTTP/2's initial 64 KiB until the
  // service asks for its message (then gRPC opens it to the message's size): a call refused
  // before its body is read can make the node buffer only that much. With probing, windows
  // grow to megabytes for every new call, read or not.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  grpc::ResourceQuota quota("mosaic-node");
  quota.Resize(static_cast<size_t>(std::max(kMinQuotaBytes, kQuotaMessages * max_message)));
  builder.SetResourceQuota(quota);
  // Gateways keep idle connections alive with pings every 20 s; allow that.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // gRPC sets SO_REUSEPORT by default: a second node started on the same port would then
  // quietly take half of the connections. Refuse to start instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    spdlog::error("cannot listen on {}", config.listen);
    return 1;
  }
  std::unique_ptr<metrics::MetricsServer> metrics_server;
  if (!config.metrics_listen.empty()) {
    auto started = metrics::MetricsServer::Start(registry, config.metrics_listen);
    if (!started.ok()) {
      spdlog::error("{}", started.status().ToString());
      server->Shutdown();
      return 1;
    }
    metrics_server = std::move(*started);
    (void)WriteAddressFile(dir + "/metrics.addr", HostOf(config.metrics_listen) + ":" +
                                                      std::to_string(metrics_server->port()));
  }
  std::string address = HostOf(config.listen) + ":" + std::to_string(port);
  if (!WriteAddressFile(dir + "/grpc.addr", address)) spdlog::warn("cannot write grpc.addr");
  spdlog::info("mosaic node {} {} serving {} on {} ({}), {} tenant(s)", config.node_id, kVersion,
               dir, address, config.tls_cert.empty() ? "plaintext" : "TLS", config.tenants.size());

  const std::string pid_file = dir + "/node.pid";
  if (!WriteAddressFile(pid_file, std::to_string(getpid()))) spdlog::warn("cannot write node.pid");

  int sig = WaitForStop(config_path, tenants);
  std::remove(pid_file.c_str());
  spdlog::info("signal {}: finishing in-flight requests", sig);
  server->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  (*store)->Close();
  metrics_server.reset();
  spdlog::info("stopped cleanly");
  return 0;
}

}  // namespace mosaic::node
