#pragma once
// Scrub on the gateway's side: what the nodes' own scrub found, and the gateway's deep scrub.
// Both only queue repairs (MetaStore::QueueRepair); the repair job rebuilds the shards.
//
// Findings: nodes report the chunks their scrub found corrupt (NodeStatus::corrupt_chunks,
// refreshed by the pool's health checks). A chunk id is a keyed hash that cannot be
// inverted, so findings are mapped back to (piece, stripe, shard) by computing the chunk ids
// of the pieces' shards placed on the reporting nodes. Every few seconds (and at start) new
// findings are mapped and queued with reason "scrub"; handled findings are remembered in
// memory, and at start those kept in the metadata (the newest kRecentFindings) count as
// handled; older ones are mapped again after a restart (queueing a stripe twice merges).
//
// Deep scrub: reads every shard of every stripe of every piece from its node and opens it
// with the piece's data key (the AEAD tag check), at a bounded byte rate. A shard that is
// missing (NOT_FOUND), refused as corrupt by the node (DATA_LOSS), of the wrong size or
// failing its tag is queued with reason "deep scrub". A node that cannot be reached is not
// evidence against its shards (failure detection deals with down nodes): those shards are
// counted as skipped. Runs every `deep_interval` (remembered in a file, so restarts do not
// postpone it forever) or when asked; one run at a time.
//
// Threads: two Workers (common/worker.h), "scrub findings" and "deep scrub", for a
// WorkerRunner to run (workers()). Every public method is thread-safe.

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "client/crypto/key_ring.h"
#include "client/pipeline/pipeline.h"
#include "common/metrics.h"
#include "common/worker.h"
#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/meta/meta_store.h"

namespace mosaic::gateway {

// A shard of a piece, found on a node.
struct FoundShard {
  std::string node_id;
  std::string chunk_id;  // the 32 raw bytes
  std::string piece_id;
  uint64_t stripe = 0;
  int shard = 0;
  std::string problem = "corrupt";  // or "missing" (the deep scrub found no shard)
};

// A bad shard one of the scrubs found and queued for repair, as the console shows it.
struct ScrubFinding {
  int64_t time_ms = 0;
  std::string source;  // "node scrub" (the node's own) or "deep scrub"
  FoundShard shard;    // chunk_id "" for the deep scrub's
};

// Node id -> chunk ids it reported corrupt.
using Findings = std::map<std::string, std::set<std::string>>;

// The shards of one piece whose chunk ids `findings` lists for the node holding them. Only
// stripes with a shard on a reporting node are hashed. Pure.
std::vector<FoundShard> MatchFindings(const client::KeyRing& ring, const Findings& findings,
                                      const std::string& piece_id, const v1::Manifest& manifest);

// One repair record per stripe of `bad` (shards of one piece), with `reason`, queued at
// `now_ms`, margin = m - (bad shards of the stripe + other shards on nodes `down` names),
// at least 0. Pure.
std::vector<v1::RepairRecord> RepairsFor(const std::vector<FoundShard>& bad,
                                         const v1::Manifest& manifest, const std::string& reason,
                                         const std::function<bool(const std::string&)>& down,
                                         int64_t now_ms);

struct DeepScrubProgress {
  bool running = false;
  uint64_t run = 0;  // runs started since the gateway started
  uint64_t pieces_done = 0;
  uint64_t pieces_total = 0;  // counted when the run starts
  uint64_t shards_checked = 0;
  uint64_t bytes = 0;
  uint64_t failures = 0;  // shards missing, refused or failing their tag (queued)
  uint64_t skipped = 0;   // shards whose node could not be reached
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
  std::string error;  // why the last run stopped early, "" if it did not
};

// {"running": …, "run": …, …} for GET /admin/v1/scrub.
std::string ProgressJson(const DeepScrubProgress& p);
// Reads what ProgressJson writes (for `mosaic scrub`); a field absent, null or of another
// type keeps its default. INVALID_ARGUMENT when `text` is not a JSON object. Pure.
[[nodiscard]] absl::StatusOr<DeepScrubProgress> ParseProgressJson(std::string_view text);

class Scrubber {
 public:
  struct Options {
    // How often the nodes' findings (in memory, refreshed by the pool's health checks) are
    // looked at; the pieces are scanned only when there is a new one.
    std::chrono::milliseconds findings_interval{std::chrono::seconds(5)};
    std::chrono::milliseconds deep_interval{std::chrono::hours(24 * 30)};  // 0 = when asked
    uint64_t deep_bytes_per_second = uint64_t{16} << 20;
    // Holds the time of the last finished deep scrub ("" = not remembered).
    std::string state_file;
  };

  // All references must outlive the Scrubber.
  Scrubber(MetaStore& meta, client::Pipeline& pipeline, metrics::Registry& registry,
           Options options);
  // Its two workers, for a WorkerRunner; a stop of the runner ends a deep scrub in progress
  // after its current stripe.
  std::vector<Worker*> workers() { return {&findings_worker_, &deep_worker_}; }

  // Maps the nodes' findings not handled yet and queues their stripes; returns the number of
  // stripes queued. Errors of the metadata store (nothing is marked handled then). Blocks.
  [[nodiscard]] absl::StatusOr<size_t> HandleFindings();

  // Asks the deep scrub worker to start a run now; false if one is running already.
  bool StartDeepScrub();
  DeepScrubProgress progress() const;
  // The newest kRecentFindings bad shards the scrubs found, oldest first. They are kept in the
  // metadata (meta/tables/scrub_findings.h), so a restart keeps them. Errors of the metadata
  // store. Blocks.
  static constexpr size_t kRecentFindings = 200;
  [[nodiscard]] absl::StatusOr<std::vector<ScrubFinding>> RecentFindings() const;
  // RecentFindings newest first, as a JSON array of {time_ms, source, problem, node, piece
  // (hex), stripe, shard, repair}: repair is "queued" while a repair of the shard waits in
  // the queue (its first `pending_scanned` entries), "repaired" once none does. Blocks.
  [[nodiscard]] absl::StatusOr<std::string> FindingsJson(size_t pending_scanned = 10000) const;
  // One whole deep scrub on the calling thread (the worker runs this). Errors of the
  // metadata store stop it.
  [[nodiscard]] absl::Status DeepScrub();

 private:
  absl::Status ScrubPiece(const std::string& piece_id, const v1::Manifest& manifest);
  absl::Status QueueAll(const std::vector<v1::RepairRecord>& records);
  // Adds `found` to the recent findings in the metadata, dropping the oldest beyond
  // kRecentFindings, in one transaction.
  absl::Status Remember(const std::vector<FoundShard>& found, const std::string& source);
  bool NodeDown(const std::string& node_id) const;
  void Throttle(uint64_t bytes);
  absl::StatusOr<WorkResult> FindingsStep();
  // Runs a deep scrub when asked or due; else idle until it is due (a minute at most).
  absl::StatusOr<WorkResult> DeepStep();
  int64_t LastDeepScrubMs();
  void RememberDeepScrub(int64_t ms);

  MetaStore& meta_;
  client::Pipeline& pipeline_;
  Options options_;
  metrics::Counter& findings_queued_;
  metrics::Counter& deep_failures_;
  metrics::Counter& deep_bytes_;

  FunctionWorker findings_worker_;
  FunctionWorker deep_worker_;
  int64_t last_deep_ms_ = -1;  // deep worker's thread only; -1 = not read from the file yet

  mutable std::mutex mu_;
  bool deep_requested_ = false;
  DeepScrubProgress progress_;
  std::chrono::steady_clock::time_point throttle_start_;
  std::set<std::pair<std::string, std::string>> handled_;  // (node id, chunk id)
  std::mutex findings_mu_;                                 // one HandleFindings at a time
  bool handled_loaded_ = false;  // handled_ holds the stored findings (findings_mu_)
};

}  // namespace mosaic::gateway
