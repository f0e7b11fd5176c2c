#pragma once
// `mosaic status`: how safe the data is right now, and the document the admin API serves at
// GET /admin/v1/status (docs/architecture.md, "Status").
//
// The safety scan reads the manifest of every object and part (a "piece" in the metadata:
// MetaStore::ListPieces, in pages) and counts, for each stripe, the shards that are not
// healthy: on a node that is unreachable (not seen up now, whether or not the failure detector
// declared it down yet), REMOVED or not in the node list, or whose chunk the node's own scrub
// reported corrupt. It reports how many stripes miss 0, 1, 2, … shards, how many are below k
// (lost), how many are at risk (a shard on an unreachable node not yet declared down: lost
// if it does not come back), how many are under-spread (two shards or more at one provider),
// and the number of whole providers the data survives losing now: the minimum over stripes of
// client::ProviderLossesSurvived over the healthy shards' providers (two shards at one
// provider are one loss of two).
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
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "absl/status/statusor.h"
#include "client/crypto/key_ring.h"
#include "client/pipeline/pipeline.h"
#include "common/metrics.h"
#include "common/worker.h"
#include "proto/mosaic/v1/meta.pb.h"

namespace mosaic::gateway {

class MetaStore;

// What the safety scan knows of a node.
struct NodeView {
  std::string provider;
  bool healthy = true;  // false when the node is unreachable, declared down or REMOVED
  // Not seen up now but not declared down yet (node_down_after has not passed): its shards
  // count as missing, and their stripes as at risk.
  bool unreachable = false;
  std::unordered_set<std::string> corrupt_chunks;  // raw chunk ids its scrub found corrupt
};
// By node id. A node that manifests name but that is not here is unknown: its shards count
// as unhealthy.
using NodeViews = std::map<std::string, NodeView>;

// The views of the pool's nodes now: health from the pool (anything but up is unreachable),
// REMOVED from `states`, `declared_down` from the failure detector.
NodeViews CurrentNodeViews(const client::NodePool& pool,
                           const std::map<std::string, v1::NodeStateRecord>& states,
                           const std::set<std::string>& declared_down = {});

// Shards of stripe `stripe` of `manifest` that are not healthy under `nodes`, by index.
// Corrupt findings are looked up only when the stripe's node has some (computing a chunk id
// costs a keyed hash); `ring` names the chunks.
std::vector<int> UnhealthyShards(const v1::Manifest& manifest, int stripe, const NodeViews& nodes,
                                 const client::KeyRing& ring);

// Calls `fn` with the id and manifest of every object and part of `meta`, read in pages.
// Returns false when `deadline` passed before the end (fn saw only some), true when all were
// seen. Errors of MetaStore::ListPieces. Blocks; any thread.
[[nodiscard]] absl::StatusOr<bool> ForEachPiece(
    const MetaStore& meta, std::chrono::steady_clock::time_point deadline,
    const std::function<void(const std::string& id, const v1::Manifest& manifest)>& fn);

struct SafetyReport {
  uint64_t pieces = 0;  // objects and parts (one manifest each)
  uint64_t bytes = 0;   // plaintext bytes of the objects and parts counted
  uint64_t stripes = 0;
  // Readable stripes by number of unhealthy shards: missing[0] are fully healthy.
  std::map<int, uint64_t> missing;
  uint64_t lost = 0;          // stripes with fewer than k healthy shards
  uint64_t at_risk = 0;       // stripes with a shard on an unreachable node (NodeView)
  uint64_t under_spread = 0;  // stripes placed with two shards or more at one provider
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
  // "up", "unreachable" (not seen up; not declared down yet), "declared down" (unreachable
  // for node_down_after: its shards are being repaired), "unknown" (not in the node list).
  std::string health;
  std::string state;         // "active", "draining", "removed"
  int64_t last_seen_ms = 0;  // wall clock; 0 = never
  double latency_ms = 0;
  uint64_t used_bytes = 0;
  uint64_t free_bytes = 0;
  uint64_t capacity_bytes = 0;
  uint64_t quota_bytes = 0;
  uint64_t corrupt_chunks = 0;
  std::optional<uint64_t> shards;  // from the safety scan
  // While unreachable: seconds left before the node is declared down.
  std::optional<double> declared_down_in_s;
};

// What the failure detector knows (job_views.h reads it from the detector).
struct FailureView {
  std::set<std::string> declared_down;
  std::map<std::string, int64_t> declare_down_at_ms;  // unreachable nodes: wall clock
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
//        "corrupt_chunks", "shards", "declared_down_in_s"}]}],
//    "safety": {"objects_and_parts", "pieces" (the same count, its older name), "bytes",
//        "stripes", "healthy", "missing": {"1": n, …}, "lost", "at_risk", "under_spread",
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
struct DrainImpact;  // drain_safety.h

// Builds status documents for the admin API. The safety scan is cached for `cache_for` while
// no node's health changes (status may be asked every second by `mosaic node drain --wait`)
// and bounded by `scan_bound`. Thread-safe: one scan at a time; callers arriving during a scan wait
// for it and share its result. Borrows everything (it must outlive this).
class StatusService {
 public:
  struct Options {
    std::chrono::milliseconds cache_for{2000};
    std::chrono::milliseconds scan_bound{20000};
  };
  StatusService(const MetaStore& meta, client::Pipeline& pipeline, NodeStates& states,
                Options options);
  ~StatusService();

  // The repair job's progress, when there is one (else RepairProgressFromStore).
  void SetRepairProgress(std::function<RepairProgressView()> source);
  // The metadata backup job's progress (the document has no backup without it).
  void SetBackupProgress(std::function<BackupView()> source);
  // The background workers' states (WorkerRunner::Statuses).
  void SetWorkers(std::function<std::vector<WorkerStatus>()> source);
  // The failure detector's declarations (without it no node is declared down).
  void SetFailures(std::function<FailureView()> source);

  // Blocks for a scan when the cached one is stale. Errors: those of the scan.
  [[nodiscard]] absl::StatusOr<StatusDocument> Document();
  // The latest safety report (scanning if there is none or it is stale).
  [[nodiscard]] absl::StatusOr<SafetyReport> Safety();
  // A new scan for the metrics (SafetyScanner), which Safety() does not serve from its cache
  // (a scan made just before a write would hide it from a status asked just after).
  [[nodiscard]] absl::StatusOr<SafetyReport> Rescan();
  // What draining or removing `node_id` does to safety now (drain_safety.h; defined there):
  // usable providers are those with a node up and active other than `node_id`. NOT_FOUND
  // for a node not in the node list; errors of the scan. Blocks for a scan.
  [[nodiscard]] absl::StatusOr<DrainImpact> ImpactOfDrain(const std::string& node_id);
  // k + m of the default profile.
  int DefaultShards() const { return pipeline_.options().k + pipeline_.options().m; }

  // Exports the safety figures as gauges, refreshed at each rendering from the latest scan
  // (never scanning: SafetyScanner keeps it fresh) and the job sources:
  //   mosaic_gateway_survives_provider_losses   (-1: some stripe lost; NaN: nothing stored)
  //   mosaic_gateway_stripes{state="all|healthy|degraded|at_risk|under_spread|lost"}
  //   mosaic_gateway_repair_eta_seconds         (NaN while unknown)
  //   mosaic_gateway_backup_age_seconds         (since the last successful backup; NaN: none)
  //   mosaic_gateway_safety_scan_age_seconds    (since the figures were computed)
  // Call once; `registry` must outlive this.
  void ExportMetrics(metrics::Registry& registry);

 private:
  const MetaStore& meta_;
  client::Pipeline& pipeline_;
  NodeStates& states_;
  Options options_;
  std::mutex mu_;                       // held during a scan
  std::optional<SafetyReport> cached_;  // for Safety()'s callers
  std::optional<SafetyReport> latest_;  // of any scan (Rescan's too), for the metrics
  std::chrono::steady_clock::time_point cached_at_;
  std::string cached_key_;  // the node health it was computed under: another one is stale
  std::mutex source_mu_;
  std::function<RepairProgressView()> repair_source_;
  std::function<BackupView()> backup_source_;
  std::function<std::vector<WorkerStatus>()> workers_source_;
  std::function<FailureView()> failure_source_;

  FailureView Failures();
  absl::StatusOr<SafetyReport> ScanLocked(const NodeViews& views);  // mu_ held
  void RefreshMetrics();

  struct Gauges;
  std::shared_ptr<Gauges> gauges_;  // shared_ptr: Gauges is complete only in status_metrics.cc
};

// Keeps StatusService's safety scan fresh (for metrics and alerts) without anyone asking: a
// Worker named "safety scan" that scans every `interval`. Borrows `status`.
class SafetyScanner final : public Worker {
 public:
  SafetyScanner(StatusService& status, std::chrono::milliseconds interval);
  absl::StatusOr<WorkResult> Step() override;
  std::string Detail() const override;

 private:
  StatusService& status_;
  mutable std::mutex mu_;
  std::string detail_;
};

}  // namespace mosaic::gateway
