#pragma once
// The repair job: empties the repair queue (MetaStore::QueueRepair), fewest spare shards
// first. For each due entry it re-creates the stripe's listed shards from k good ones
// (client::RepairStripe) and puts them on other nodes; then the new placements and the end
// of the entry are committed (MetaStore::CommitRepairs: each move a compare-and-set on the
// shard's node), and the old copy is deleted when its node still answers (a drained node, a
// corrupt chunk).
//
// Commits are grouped: a stripe whose shards are written joins a commit queue, and the
// helper that finds no commit running commits everything queued (all stripes, of any
// pieces) in one synced write, again until the queue is empty; the others go on to their
// next stripe meanwhile. So a stripe costs no synced write of its own (it used to cost two:
// MoveShard, then FinishRepair), and no helper waits for one.
//
// Ordering and crashes: a shard is written before its metadata moves, so a crash in between
// leaves only an unreferenced chunk (for the orphan sweep) and the entry still queued: the
// queue lives in RocksDB, so the job resumes after a restart by construction. A piece deleted
// meanwhile (MoveShard NOT_FOUND) or a shard moved by someone else (FAILED_PRECONDITION)
// makes the job delete what it just wrote. Failures are retried with exponential backoff
// (attempts, not_before_ms in the entry).
//
// Rate: at most `bytes_per_second` of rebuilt shards written, averaged by a token bucket
// (one second of burst). Up to `stripes_in_flight` stripes are fetched, rebuilt and written
// at once (each waits on the nodes), besides those waiting for their commit.
//
// A "spread" entry (node_states.h) only moves a shard to a provider holding no other shard of
// the stripe; when none takes it, the shard stays and the written copy is deleted (the next
// spread scan tries again).
//
// Several gateways on one database (issue 17): before a stripe's new shards are written,
// its object is recorded as a write in flight in the pipeline's write journal (the one the
// writers use: meta/write_journal.h), held by a count per object (stripes of one object are
// repaired side by side) and released once the new placement is committed or dropped, so
// that no gateway's orphan sweep takes the new chunks in between, not only this one's.
//
// Read faults: ReportBadShards queues the stripes whose shards a GET found corrupt
// (DATA_LOSS) or missing (NOT_FOUND) with reason "read"; timeouts are not faults of the data.
//
// Threads: a Worker (common/worker.h) named "repair": a pass every 2 s, and at once on
// Wake(); stripes_in_flight + 1 helper threads of its own pool ("repair-stripe") while it
// repairs stripes (one of them may be committing). Every public
// method is thread-safe.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "client/pipeline/pipeline.h"
#include "common/metrics.h"
#include "common/thread_pool.h"
#include "common/worker.h"
#include "server/gateway/meta/meta_store.h"

namespace mosaic::gateway {

struct RepairerOptions {
  uint64_t bytes_per_second = uint64_t{64} << 20;
  // Stripes repaired at once (each holds its k..n sealed source shards and the rebuilt
  // ones: ≈ 7 MiB for 4+2 and 1 MiB shards). A new one starts as soon as one ends.
  int stripes_in_flight = 8;
  // Nodes neither read from nor written to (besides those the pool has DOWN): removed ones.
  std::function<bool(const std::string&)> avoid;
  // Nodes that may be read but get no new shard: draining ones.
  std::function<bool(const std::string&)> no_new_shards;
  // Tests: called by the committing helper before each grouped commit, with its stripes.
  std::function<void(size_t stripes)> before_commit;
};

class Repairer final : public Worker {
 public:
  // Progress since the gateway started, for `mosaic status`:
  //   backlog         stripes in the queue now (MetaStore::RepairBacklog)
  //   shards_done     shards re-placed and committed
  //   bytes_done      sealed bytes of those shards written to nodes
  //   failures        stripe attempts that failed and were put back with a backoff
  //   commits         grouped metadata commits of written stripes (each holds ≥ 1 stripe)
  //   waiting_commit  stripes written now and waiting for the next grouped commit
  //   bytes_per_second  bytes written over the last ~10 seconds / their duration (0 idle)
  struct Progress {
    uint64_t backlog = 0;
    uint64_t shards_done = 0;
    uint64_t bytes_done = 0;
    uint64_t failures = 0;
    uint64_t commits = 0;
    uint64_t waiting_commit = 0;
    double bytes_per_second = 0;
  };

  // All references must outlive the Repairer.
  Repairer(MetaStore& meta, client::Pipeline& pipeline, metrics::Registry& registry,
           RepairerOptions options);

  // One pass: processes the due entries of the first page of the queue on the helper
  // threads, options.stripes_in_flight at once, waiting for the rate limit before starting
  // each (a stop ends the pass).
  // Returns the entries finished (repaired, or dropped because the piece is gone).
  size_t RunOnce();
  // One pass: busy when it finished entries (more may be due), else idle.
  absl::StatusOr<WorkResult> Step() override;
  std::string Detail() const override;

  Progress progress() const;

  // Queues the stripes of `record`'s pieces that `faults` name (DATA_LOSS and NOT_FOUND
  // only) and wakes the worker. Never blocks on the nodes; errors are logged. (The gateway
  // hands it to the S3 handlers as their RepairSink.)
  void ReportBadShards(const v1::ObjectRecord& record, const std::vector<client::BadShard>& faults);

 private:
  struct Written;  // a stripe whose new shards are on nodes, waiting for its commit
  struct Pass;     // one RunOnce: its window of stripes and its commit queue
  // Re-creates and writes one entry's shards. Returns nullopt with `finished` set when the
  // entry needs no commit (dropped, or put back for a retry), else what to commit.
  std::optional<Written> Repair(const v1::RepairRecord& entry, bool& finished);
  // Queues `written` for the pass's next grouped commit, and commits (again until the queue
  // is empty) unless another helper is committing.
  void Commit(const std::shared_ptr<Pass>& pass, Written written);
  // One CommitRepairs of `batch`, then each stripe's outcome (counters, deletes of the old
  // copies or of unused new ones); returns the entries finished.
  size_t CommitBatch(std::vector<Written>& batch);
  void Settle(const Written& written, const std::vector<absl::Status>& moved);
  // True when `node_id` is at a provider holding another shard of the stripe than `slot`.
  // Whether the piece's current placement has `shard` of `stripe` on `node_id` (true when
  // the metadata cannot be read: the caller then keeps the chunk).
  bool ShardIsOn(const std::string& piece_id, uint64_t stripe, int shard,
                 const std::string& node_id) const;
  bool SharesProvider(const std::vector<std::string>& placement, int slot,
                      const std::string& node_id) const;
  void Retry(const v1::RepairRecord& taken, const std::vector<uint32_t>& left,
             const std::string& why);
  // `taken` with only `left` and the next attempt's backoff (logged, not yet counted).
  v1::RepairRecord Backoff(const v1::RepairRecord& taken, const std::vector<uint32_t>& left,
                           const std::string& why) const;
  void CountFailure();
  void Waiting(int64_t change);  // adds `change` to waiting_commit_
  void DeleteChunk(const std::string& node_id, const client::ObjectManifest& manifest,
                   uint64_t stripe, int shard);
  // Records `manifest`'s object (all its stripes) in the pipeline's write journal, if it has
  // one, before its repair writes anything: the journal's errors (UNAVAILABLE when the
  // database is down). Each Hold that succeeded is followed by one Unhold.
  absl::Status Hold(const client::ObjectManifest& manifest);
  void Unhold(const client::ObjectId& object);
  // Waits (interruptibly) until the token bucket allows writing again; false when stopping.
  bool Throttle();
  void Account(uint64_t bytes);

  MetaStore& meta_;
  client::Pipeline& pipeline_;
  RepairerOptions options_;
  metrics::Counter& shards_total_;
  metrics::Counter& bytes_total_;
  metrics::Counter& failures_total_;
  metrics::Counter& commits_total_;

  ThreadPool helpers_;  // options.stripes_in_flight threads, one stripe each, + 1 committing

  mutable std::mutex mu_;

  // Under mu_.
  double tokens_ = 0;
  std::chrono::steady_clock::time_point refilled_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, uint64_t>> recent_;
  uint64_t shards_done_ = 0;
  uint64_t bytes_done_ = 0;
  uint64_t failures_ = 0;
  uint64_t commits_ = 0;
  uint64_t waiting_commit_ = 0;
  // Holds on objects recorded in the write journal, by object id (Hold, Unhold). Reserve
  // blocks on the database: not under mu_.
  std::mutex holds_mu_;
  std::map<client::ObjectId, int> holds_;
};

}  // namespace mosaic::gateway
