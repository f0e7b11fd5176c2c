#pragma once
// `mosaic status`: how safe the data is right now, and the document the admin API serves at
// GET /admin/v1/status (docs/architecture.md, "Status").
//
// The safety scan reads every piece's manifest (MetaStore::ListPieces, in pages) and counts,
// for each stripe, the shards that are not healthy: on a node that is DOWN, REMOVED or not in
// the node list, or whose chunk the node's own scrub reported corrupt. It reports how many
// stripes miss 0, 1, 2, … shards, how many are below k (lost), and the number of whole
// providers the data survives losing now: the minimum over stripes of
// client::ProviderLossesSurvived over the healthy shards' providers.
//
// The document is rendered as JSON (the API) and parsed back by the CLI, which prints it as
// text (StatusText); both directions live here so that they cannot drift apart.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "absl/status/statusor.h"
#include "client/crypto/key_ring.h"
#include "client/pipeline/pipeline.h"
#include "common/worker.h"
#include "proto/mosaic/v1/meta.pb.h"

namespace mosaic::gateway {

class MetaStore;

// What the safety scan knows of a node.
struct NodeView {
  std::string provider;
  bool healthy = true;                             // false when the node is DOWN or REMOVED
  std::unordered_set<std::string> corrupt_chunks;  // raw chunk ids its scrub found corrupt
};
// By node id. A node that manifests name but that is not here is unknown: its shards count
// as unhealthy.
using NodeViews = std::map<std::string, NodeView>;

// The views of the pool's nodes now: health from the pool, REMOVED from `states`.
NodeViews CurrentNodeViews(const client::NodePool& pool,
                           const std::map<std::string, v1::NodeStateRecord>& states);

// Shards of stripe `stripe` of `manifest` that are not healthy under `nodes`, by index.
// Corrupt findings are looked up only when the stripe's node has some (computing a chunk id
// costs a keyed hash); `ring` names the chunks.
std::vector<int> UnhealthyShards(const v1::Manifest& manifest, int stripe, const NodeViews& nodes,
                                 const client::KeyRing& ring);

struct SafetyReport {
  uint64_t pieces = 0;
  uint64_t bytes = 0;  // plaintext bytes of the pieces counted
  uint64_t stripes = 0;
  // Readable stripes by number of unhealthy shards: missing[0] are fully healthy.
  std::map<int, uint64_t> missing;
  uint64_t lost = 0;  // stripes with fewer than k healthy shards
  // Whole-provider losses the data survives now; nullopt when nothing is stored, -1 when
  // some stripe is lost already.
  std::optional<int> losses_survived;
  std::map<std::string, uint64_t> shards_by_node;  // every node a manifest names
  bool complete = true;                            // false when the time bound cut the scan short
  int64_t computed_ms = 0;                         // wall clock, when the scan finished
  double scan_ms = 0;

  uint64_t healthy() const;
};

// Scans every piece of `meta`. Stops at `deadline` with complete = false (counts so far).
// Errors: those of MetaStore::ListPieces. Blocks; any thread.
[[nodiscard]] absl::StatusOr<SafetyReport> ComputeSafety(
    const MetaStore& meta, const NodeViews& nodes, const client::KeyRing& ring,
    std::chrono::steady_clock::time_point deadline);

// Repair progress as status shows it: from the repair job (RepairProgressFromRepairer), or
// the backlog alone when there is none (RepairProgressFromStore).
struct RepairProgressView {
  uint64_t backlog = 0;                    // stripes queued
  std::optional<uint64_t> done;            // shards re-placed since the gateway started
  std::optional<double> bytes_per_second;  // recent repair rate
  std::optional<double> eta_seconds;       // time to empty the backlog at that rate
};
// (RepairProgressFromRepairer and BackupViewFromJob, in job_views.h, read the jobs: status
// does not depend on them.)
RepairProgressView RepairProgressFromStore(const MetaStore& meta);

// The metadata backup as status shows it (jobs/metadata_backup.h).
struct BackupView {
  int64_t last_success_ms = 0;        // wall clock; 0 = never
  int64_t covered_ms = 0;             // writes acknowledged before this are on the nodes
  std::optional<double> lag_seconds;  // now − covered_ms; unknown before the first backup
  uint64_t generation = 0;
  std::string last_error;  // of the last cycle; "" when it succeeded
};

struct NodeRow {
  std::string id;
  std::string provider;
  std::string address;
  std::string health;        // "up", "suspect", "down", "unknown" (not in the node list)
  std::string state;         // "active", "draining", "removed"
  int64_t last_seen_ms = 0;  // wall clock; 0 = never
  double latency_ms = 0;
  uint64_t used_bytes = 0;
  uint64_t free_bytes = 0;
  uint64_t capacity_bytes = 0;
  uint64_t quota_bytes = 0;
  uint64_t corrupt_chunks = 0;
  std::optional<uint64_t> shards;  // from the safety scan
};

struct DrainRow {
  std::string node;
  std::string state;  // "draining" or "removed"
  int64_t since_ms = 0;
  uint64_t shards_at_start = 0;
  uint64_t shards_left = 0;
};

struct StatusDocument {
  int64_t generated_ms = 0;
  int k = 0;  // the default profile
  int m = 0;
  std::vector<NodeRow> nodes;  // by provider, then id
  SafetyReport safety;
  RepairProgressView repair;
  uint64_t deletion_backlog = 0;
  std::vector<DrainRow> drains;
  std::optional<BackupView> backup;   // nullopt when the gateway runs no backup job
  std::vector<WorkerStatus> workers;  // the background jobs, in the order they were started
};

// The JSON document of GET /admin/v1/status:
//   {"generated_ms", "profile": {"k", "m"},
//    "providers": [{"name", "nodes": [{"id", "address", "health", "state", "last_seen_ms",
//        "latency_ms", "used_bytes", "free_bytes", "capacity_bytes", "quota_bytes",
//        "corrupt_chunks", "shards"}]}],
//    "safety": {"pieces", "bytes", "stripes", "healthy", "missing": {"1": n, …}, "lost",
//        "survives_provider_losses" (null when nothing is stored), "complete", "computed_ms",
//        "scan_ms"},
//    "backlog": {"repair": {"count", "done", "bytes_per_second", "eta_seconds"},
//        "deletion": {"count"}},
//    "drains": [{"node", "state", "since_ms", "shards_at_start", "shards_left"}],
//    "backup": {"last_success_ms", "covered_ms", "lag_seconds", "generation", "last_error"},
//    "workers": [{"name", "state", "detail", "last_error", "errors_in_a_row", "steps",
//        "next_step_ms"}]}
// Unknown values are null.
std::string StatusJson(const StatusDocument& doc);
// INVALID_ARGUMENT when `json` is not such a document.
[[nodiscard]] absl::StatusOr<StatusDocument> ParseStatusJson(std::string_view json);
// The readable form `mosaic status` prints; `now_ms` for "last seen … ago".
std::string StatusText(const StatusDocument& doc, int64_t now_ms);
// "1,234"
std::string Thousands(uint64_t n);

class NodeStates;

// Builds status documents for the admin API. The safety scan is cached for `cache_for`
// (status may be asked every second by `mosaic node drain --wait`) and bounded by
// `scan_bound`. Thread-safe: one scan at a time; callers arriving during a scan wait for it
// and share its result. Borrows everything (it must outlive this).
class StatusService {
 public:
  struct Options {
    std::chrono::milliseconds cache_for{2000};
    std::chrono::milliseconds scan_bound{20000};
  };
  StatusService(const MetaStore& meta, client::Pipeline& pipeline, NodeStates& states,
                Options options);

  // The repair job's progress, when there is one (else RepairProgressFromStore).
  void SetRepairProgress(std::function<RepairProgressView()> source);
  // The metadata backup job's progress (the document has no backup without it).
  void SetBackupProgress(std::function<BackupView()> source);
  // The background workers' states (WorkerRunner::Statuses).
  void SetWorkers(std::function<std::vector<WorkerStatus>()> source);

  // Blocks for a scan when the cached one is stale. Errors: those of the scan.
  [[nodiscard]] absl::StatusOr<StatusDocument> Document();
  // The latest safety report (scanning if there is none or it is stale).
  [[nodiscard]] absl::StatusOr<SafetyReport> Safety();

 private:
  const MetaStore& meta_;
  client::Pipeline& pipeline_;
  NodeStates& states_;
  Options options_;
  std::mutex mu_;  // held during a scan
  std::optional<SafetyReport> cached_;
  std::chrono::steady_clock::time_point cached_at_;
  std::mutex source_mu_;
  std::function<RepairProgressView()> repair_source_;
  std::function<BackupView()> backup_source_;
  std::function<std::vector<WorkerStatus>()> workers_source_;
};

}  // namespace mosaic::gateway
