#pragma once
// Connections to storage nodes: one gRPC channel per node (keepalive, reconnect with
// backoff, a deadline on every call), and per-node health fed by call results and by a
// periodic check. Proto types stop here: callers see chunk ids, byte spans and Status.
//
// Health: a node is UP after a successful call or check; SUSPECT after a transport failure
// (UNAVAILABLE, DEADLINE_EXCEEDED); DOWN after `failures_to_down` consecutive ones. Errors
// the node answers on purpose (NOT_FOUND, DATA_LOSS, …) do not change its health.
//
// Threads: every method is thread-safe. The async calls never block; their callbacks run on
// gRPC's threads and must not block either.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "client/placement/placement.h"
#include "common/aligned_buffer.h"
#include "common/bytes.h"

namespace mosaic::client {

struct NodeEndpoint {
  NodeSpec spec;                // id, provider, site, weight
  std::string address;          // host:port
  std::string token;            // the tenant's bearer token at this node
  bool plaintext = false;       // must be said explicitly (tests, `mosaic dev`)
  std::string tls_ca_pem;       // trust exactly this CA or self-signed certificate
  std::string tls_server_name;  // overrides the name checked in the certificate
  // "sha256:<hex>" of the certificate the node must present (the one in tls_ca_pem, saved
  // by `mosaic gateway node add`). The handshake already refuses any other certificate;
  // this names the mismatch in CheckHealth's error: "node X presented certificate sha256:…
  // but sha256:… is pinned". Empty: no such explanation.
  std::string tls_fingerprint;
};

struct RpcOptions {
  std::chrono::milliseconds call_timeout{30000};
  std::chrono::milliseconds health_interval{2000};
  std::chrono::milliseconds health_timeout{2000};
  int failures_to_down = 3;
  int max_message_bytes = 16 << 20;
};

enum class NodeHealth { kUp, kSuspect, kDown };
const char* NodeHealthName(NodeHealth h);

struct NodeStatus {
  NodeHealth health = NodeHealth::kUp;
  std::chrono::system_clock::time_point last_seen{};  // last successful call or check
  double latency_ms = 0;                              // smoothed latency of checks
  uint64_t capacity_bytes = 0;                        // from the last check
  uint64_t free_bytes = 0;
  uint64_t used_bytes = 0;  // this tenant's usage at the node
  uint64_t quota_bytes = 0;
  std::vector<std::string> corrupt_chunks;  // the node's scrub findings for this tenant
  std::string node_id;                      // the id the node gives itself
};

class NodeClient {
 public:
  NodeClient(NodeEndpoint endpoint, const RpcOptions& options);
  // Cancels the calls still in flight and waits for their callbacks, which see CANCELLED
  // (so those callbacks must not need the caller to return first). No call may start
  // concurrently.
  ~NodeClient();

  const NodeEndpoint& endpoint() const { return endpoint_; }
  const std::string& id() const { return endpoint_.spec.id; }

  using Done = absl::AnyInvocable<void(absl::Status)>;
  using GetDone = absl::AnyInvocable<void(absl::StatusOr<std::string>)>;
  using DeleteDone = absl::AnyInvocable<void(absl::StatusOr<bool>)>;

  using GetBufferDone = absl::AnyInvocable<void(absl::StatusOr<AlignedBuffer>)>;

  // Stores a chunk (with its CRC32C, checked by the node). Status codes are the node's
  // (proto/mosaic/v1/node.proto). Without an `owner`, `data` is copied once before Put
  // returns. With one, `data` is sent as it is, without a copy: gRPC keeps a reference to
  // `owner`, which must keep `data` alive and unchanged, until it no longer needs the bytes
  // (which may be after `done` ran).
  void Put(std::string_view chunk_id, ConstByteSpan data, Done done,
           std::shared_ptr<const void> owner = nullptr);
  // Reads [offset, offset + length) of a chunk (length 0 = all). `deadline` overrides the
  // default call timeout when non-zero.
  void Get(std::string_view chunk_id, uint64_t offset, uint64_t length, GetDone done,
           std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  // Like Get, but the bytes arrive in a buffer from BufferPool::Global() (copied once out of
  // gRPC's receive buffers, into memory already mapped), which `done` should give back.
  void GetBuffer(std::string_view chunk_id, uint64_t offset, uint64_t length, GetBufferDone done,
                 std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  void Delete(std::string_view chunk_id, DeleteDone done);
  // Up to `page_size` chunk ids after `after`; an empty next token ends the listing. Blocks.
  [[nodiscard]] absl::StatusOr<std::pair<std::vector<std::string>, std::string>> List(
      const std::string& after, uint32_t page_size);

  // Asks the node for its info (blocking, health_timeout) and updates health and status.
  // Returns the call's result (e.g. UNAUTHENTICATED for a wrong token); when a failed TLS
  // handshake is due to a certificate other than the pinned one, UNAVAILABLE saying so (the
  // first time for each presented certificate also logged as an error).
  absl::Status CheckHealth();
  NodeHealth health() const;

  // Fencing (proto/mosaic/v1/node.proto): every call from now on carries `generation` (0:
  // none). Thread-safe.
  void SetGeneration(uint64_t generation) { generation_.store(generation); }
  // Raises this tenant's generation at the node to `generation` (0 only asks) and returns the
  // highest the node records. Blocks (call timeout).
  [[nodiscard]] absl::StatusOr<uint64_t> Fence(uint64_t generation);
  NodeStatus status() const;

  // Feeds a call result into the health state (called by the async calls).
  void Record(const absl::Status& s);

 private:
  friend class NodePool;
  // Starts a health check (GetNodeInfo, health_timeout) without blocking; `done` runs on a
  // gRPC thread after health and status are updated, with the call's result.
  void StartCheck(Done done);
  // Says why a failed check failed when the node presented a certificate other than the
  // pinned one (blocks up to 2 s to fetch it; logged once per certificate); else `s`.
  absl::Status Explain(absl::Status s);

  struct Impl;
  NodeEndpoint endpoint_;
  RpcOptions options_;
  std::atomic<uint64_t> generation_{0};
  std::shared_ptr<Impl> impl_;
};

// All nodes of a deployment, with one background thread that checks their health (the
// checks of all nodes in flight at once).
//
// Nodes can be added while the pool is in use (`mosaic node add`), never taken out: an index
// once given names the same node for the pool's life, so callers may keep indices, and a
// caller that read size() may use every index below it without a lock.
class NodePool {
 public:
  // The most nodes one gateway talks to (slots are reserved up front, so adding never moves
  // a node another thread is using).
  static constexpr int kMaxNodes = 1024;

  NodePool(std::vector<NodeEndpoint> endpoints, RpcOptions options);
  ~NodePool();  // stops the health thread

  int size() const { return size_.load(std::memory_order_acquire); }
  NodeClient& node(int index) { return *nodes_[index]; }
  const NodeClient& node(int index) const { return *nodes_[index]; }
  // Index of the node with this id, or -1.
  int IndexOf(const std::string& id) const;
  std::vector<NodeSpec> Specs() const;
  // Appends a node and returns its index. ALREADY_EXISTS if its id is taken;
  // RESOURCE_EXHAUSTED beyond kMaxNodes. Thread-safe (adds are serialised).
  [[nodiscard]] absl::StatusOr<int> Add(NodeEndpoint endpoint);
  // Runs one health check of every node now, all in flight at once, and waits for them.
  void CheckAll();
  // Every node's calls carry `generation` from now on, those added later too.
  void SetGeneration(uint64_t generation);

 private:
  std::unique_ptr<std::unique_ptr<NodeClient>[]> nodes_;  // kMaxNodes slots, size_ filled
  std::atomic<int> size_{0};
  RpcOptions options_;
  std::mutex add_mu_;  // serialises Add and SetGeneration
  std::atomic<uint64_t> generation_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread health_thread_;
};

}  // namespace mosaic::client
