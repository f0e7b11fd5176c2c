#pragma once
// The orphan sweep: deletes chunks on the nodes that no metadata names — shards of uploads
// cut off by a crash of the gateway, shards left behind by a failed delete — after a grace
// period, and never a chunk of an upload still in progress.
//
// For each node, its chunk ids are listed (paged), and then compared with the referenced
// set: the (node, chunk) pairs of every stripe and shard of every piece, of every manifest
// in the deletion queue (the deleter removes those), of the metadata backup objects and the
// backup root slots (jobs/metadata_backup.h), and the chunk ids of writers still alive
// (client::InFlightChunks). A chunk not referenced is a candidate; it is deleted only
// when it was a candidate already at an earlier sweep at least `grace` ago, and only after a
// last check, in this order: the in-flight registry, then the metadata read again. (A writer
// leaves the registry only after its manifest is committed, so a chunk that passes the
// registry check and then the metadata check was not committed by any writer.)
// First-seen times are kept in memory: a restart restarts the clock (the safe side).
// A node whose listing fails is not swept at all in that run.
//
// With gateways sharing the metadata, the writes in progress of every gateway are in the
// database ("mark uploading first", meta/write_journal.h): the chunks of their reserved
// stripes are spared like the in-flight registry's, read after the listing and before the
// metadata (a writer forgets its record only after its commit), and again at the last check
// between the registry and the metadata. A writer that stopped beating for `writer_ttl`
// (WriterWatch) is dead: the sweep drops its records (named in the log and counted in the
// report), and its chunks are candidates from that sweep on.
//
// Threads: a Worker (common/worker.h) named "orphan sweep", a sweep every `interval` (the
// first one interval after the start; with 0 the gateway does not run it: only when asked).
// Sweep() may be called from any thread; sweeps run one at a time.

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "absl/status/statusor.h"
#include "client/pipeline/pipeline.h"
#include "common/metrics.h"
#include "common/worker.h"
#include "proto/mosaic/v1/backup.pb.h"
#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/backup/chunks.h"
#include "server/gateway/meta/meta_store.h"
#include "server/gateway/meta/write_journal.h"

namespace mosaic::gateway {

// The sweep's memory: when each unreferenced chunk was first seen. Not thread-safe.
class OrphanLedger {
 public:
  using Clock = std::chrono::steady_clock;
  // One sweep of `node`: the chunks of `listed` that `referenced` rejects are this sweep's
  // candidates (first seen now unless seen before); those seen before, at least `grace`
  // before `now`, are returned (due for deletion). Chunks of the node that are no longer
  // candidates are forgotten.
  std::vector<std::string> Update(const std::string& node, const std::vector<std::string>& listed,
                                  const std::function<bool(const std::string&)>& referenced,
                                  Clock::time_point now, std::chrono::milliseconds grace);
  void Forget(const std::string& node, const std::string& chunk);
  size_t candidates() const;

 private:
  std::map<std::string, std::unordered_map<std::string, Clock::time_point>> first_seen_;
};

struct SweepReport {
  int nodes_swept = 0;
  int nodes_skipped = 0;  // listing failed
  uint64_t chunks_listed = 0;
  uint64_t candidates = 0;  // unreferenced after this sweep (deleted ones not counted)
  uint64_t deleted = 0;
  uint64_t kept = 0;  // due, but referenced or in flight at the last check, or not deleted
  uint64_t writes_in_flight = 0;  // recorded by live writers of any gateway (journal)
  uint64_t dead_writes = 0;       // records of dead writers dropped by this sweep
};

std::string SweepReportJson(const SweepReport& r);

class OrphanSweeper final : public Worker {
 public:
  struct Options {
    std::chrono::milliseconds interval{std::chrono::hours(6)};  // 0 = only when asked
    std::chrono::milliseconds grace{std::chrono::hours(24)};
    uint32_t page_size = 1000;
    // This gateway's writer in the write journal (never dead to its own sweep; "" if it
    // records none), and how long another writer's heartbeat may stand still.
    std::string writer;
    std::chrono::milliseconds writer_ttl{std::chrono::seconds(6)};
  };

  // All references must outlive the sweeper.
  OrphanSweeper(MetaStore& meta, client::Pipeline& pipeline, metrics::Registry& registry,
                Options options);
  // One sweep with the configured grace; then idle for `interval`.
  absl::StatusOr<WorkResult> Step() override;
  std::string Detail() const override;

  // One sweep of every node with this grace (the configured one for the thread). Errors of
  // the metadata store (nothing is deleted then). Blocks, for as long as listing takes.
  [[nodiscard]] absl::StatusOr<SweepReport> Sweep(std::chrono::milliseconds grace);
  const Options& options() const { return options_; }

 private:
  absl::StatusOr<NodeChunks> Referenced() const;
  // The chunks of the reserved stripes of live writers' records (any node), and the dead
  // writers; updates watch_.
  struct Journal {
    std::unordered_set<std::string> chunks;
    std::vector<std::string> dead;
    uint64_t writes = 0;
  };
  absl::StatusOr<Journal> ReadJournal();
  uint64_t DropDeadWriters(const std::vector<std::string>& dead);
  uint64_t DeleteChunks(const std::string& node, const std::vector<std::string>& chunks);

  MetaStore& meta_;
  client::Pipeline& pipeline_;
  Options options_;
  metrics::Counter& deleted_;
  metrics::Gauge& candidates_;
  std::mutex sweep_mu_;  // one sweep at a time; guards ledger_
  OrphanLedger ledger_;
  WriterWatch watch_;  // under sweep_mu_
  mutable std::mutex mu_;
  std::optional<SweepReport> last_;  // under mu_
};

}  // namespace mosaic::gateway
