#pragma once
// Test and benchmark support: runs the real `mosaic node` binary as a child process on
// loopback, and a thin synchronous client for its ChunkService.
//
// A NodeProcess owns a fresh work folder (under $TMPDIR, else /var/tmp) holding the node's
// config, its log (the child's stdout and stderr) and, unless the options name another one,
// its data folder. It is not thread-safe: start, stop and restart it from one thread, the
// same thread for its whole life (the child is told to die with that thread through
// PR_SET_PDEATHSIG, so a crashed test never leaks a node). Clients made from it may be used
// from any thread.

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/mosaic/v1/node.grpc.pb.h"

namespace mosaic::test {

struct TenantSpec {
  std::string name;
  std::string token;  // the config gets only its SHA-256
  std::string quota;  // a size ("1MiB"); empty = unlimited
};

// Every key of the node's config that tests vary; the defaults make scrubbing, segment
// rollover and compaction happen within a test's lifetime.
struct NodeOptions {
  std::string binary;    // empty: $MOSAIC_BINARY, else the binary built with the tests
  std::string data_dir;  // empty: <work dir>/data, removed with the work dir
  std::string node_id = "test-node";
  std::string listen = "127.0.0.1:0";  // gRPC; port 0 = any free port
  std::string log_level = "info";
  std::string max_chunk_size = "8MiB";
  std::string segment_size = "16MiB";
  double compact_below = 0.5;
  std::string reserved_free = "64MiB";
  int reader_threads = 2;
  std::string io_engine = "auto";  // storage.io_engine: "auto", "io_uring" or "posix"
  std::string scrub_rate = "1GiB";
  std::string scrub_interval = "100ms";
  std::vector<TenantSpec> tenants = {{"tenant-a", "token-a-3f9c1d", ""}};
  std::string extra_toml;  // appended to the config verbatim
  std::chrono::milliseconds start_timeout{30'000};
};

// A unary reply: the status and, when it is OK, the response.
template <typename Response>
struct Reply {
  grpc::Status status;
  Response response;
  bool ok() const { return status.ok(); }
  grpc::StatusCode code() const { return status.error_code(); }
};

// "CODE: message" for test failure messages.
std::string Describe(const grpc::Status& status);

// A synchronous ChunkService client for one tenant token over one channel. Thread-safe.
// Every call has a deadline (60 s by default) so that a hung node fails a test instead of
// hanging it.
class ChunkClient {
 public:
  // An empty token sends no authorization metadata at all.
  ChunkClient(std::shared_ptr<grpc::Channel> channel, std::string token);

  // Sends the data's CRC32C along, as a real client does.
  Reply<v1::PutChunkResponse> Put(std::string_view id, std::string_view data) const;
  // Sends `crc32c` as given (nullopt: the field is absent).
  Reply<v1::PutChunkResponse> PutWithCrc(std::string_view id, std::string_view data,
                                         std::optional<uint32_t> crc32c) const;
  Reply<v1::GetChunkResponse> Get(std::string_view id, uint64_t offset = 0,
                                  uint64_t length = 0) const;
  Reply<v1::DeleteChunkResponse> Delete(std::string_view id) const;
  Reply<v1::ChunkInfo> Stat(std::string_view id) const;
  Reply<v1::ListChunksResponse> List(std::string_view page_token, uint32_t page_size) const;
  Reply<v1::NodeInfo> Info() const;
  // Follows next_page_token to the end (at most `max_pages` pages).
  Reply<std::vector<v1::ChunkInfo>> ListAll(uint32_t page_size, int max_pages = 100'000) const;

  void set_deadline(std::chrono::milliseconds deadline) { deadline_ = deadline; }
  v1::ChunkService::Stub& stub() const { return *stub_; }

 private:
  // One unary call with the deadline and the token.
  template <typename Response, typename Request, typename Method>
  Reply<Response> Call(Method method, const Request& request) const;

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ChunkService::Stub> stub_;
  std::string token_;
  std::chrono::milliseconds deadline_{60'000};
};

class NodeProcess {
 public:
  // Creates the work folder, writes the config, starts the node and returns once it has
  // published its addresses and answers SERVING on the health service. On failure the
  // status message ends with the tail of the node's log.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<NodeProcess>> Start(NodeOptions options = {});
  // Kills the node if it runs (SIGKILL) and removes the work folder.
  ~NodeProcess();
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;

  // Starts the node again on the same config and data after Kill() or Terminate().
  [[nodiscard]] absl::Status Restart();
  // SIGKILL, then reaps the child. Returns its wait status. No-op (-1) when not running.
  int Kill();
  // SIGTERM, then waits up to `timeout` for the exit. Returns the exit code; INTERNAL when
  // it died of a signal; DEADLINE_EXCEEDED when it did not exit in time (it is then killed).
  [[nodiscard]] absl::StatusOr<int> Terminate(
      std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // True while the child has not exited (reaps it if it has).
  bool Running();
  // How the last run ended when it ended on its own (not through Kill() or Terminate()):
  // "exited with code N" or "killed by signal N (name)"; empty while running or after a stop
  // that the test asked for. Tests print it on failure to tell a crash from a hang.
  const std::string& unexpected_exit() const { return unexpected_exit_; }
  // OK when the health service answers SERVING within `timeout`.
  [[nodiscard]] absl::Status CheckServing(std::chrono::milliseconds timeout) const;

  // A new channel with its own connection (no subchannel sharing between channels), 64 MiB
  // message limits.
  std::shared_ptr<grpc::Channel> NewChannel() const;
  ChunkClient Client(std::string token) const { return ChunkClient(NewChannel(), token); }
  // A client with the first configured tenant's token.
  ChunkClient Client() const { return Client(options_.tenants.at(0).token); }

  const NodeOptions& options() const { return options_; }
  const std::string& work_dir() const { return work_dir_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& log_path() const { return log_path_; }
  const std::string& grpc_address() const { return grpc_address_; }
  const std::string& metrics_address() const { return metrics_address_; }
  pid_t pid() const { return pid_; }
  // The whole log, or its last `max_bytes`.
  std::string ReadLog(size_t max_bytes = SIZE_MAX) const;

 private:
  explicit NodeProcess(NodeOptions options);
  absl::Status WriteConfig() const;
  absl::Status Spawn();
  absl::Status WaitForAddresses();
  absl::Status WithLogTail(const absl::Status& status) const;

  NodeOptions options_;
  std::string work_dir_;
  std::string data_dir_;
  std::string config_path_;
  std::string log_path_;
  std::string grpc_address_;
  std::string metrics_address_;
  pid_t pid_ = -1;
  std::string unexpected_exit_;
};

// Deterministic pseudo-random bytes (splitmix64 of `seed`): the same seed and size always
// give the same bytes, so tests regenerate data instead of keeping it.
std::string RandomBytes(uint64_t seed, size_t size);

// Reads a whole file; NOT_FOUND or INTERNAL on failure.
[[nodiscard]] absl::StatusOr<std::string> ReadFile(const std::string& path);

// HTTP/1.0 GET of `path` from "host:port"; returns the body when the status is 200.
[[nodiscard]] absl::StatusOr<std::string> HttpGet(const std::string& address,
                                                  const std::string& path);

}  // namespace mosaic::test
