#pragma once
// The metadata backup job (docs/architecture.md, "Metadata backup"): copies the gateway's
// whole RocksDB to the nodes, as pipeline objects (encrypted, erasure-coded, placed across
// providers like data), so that the master key and the node list are enough to rebuild it
// (`mosaic restore`).
//
// Every `interval`, if anything but the backup's own bookkeeping was written since the last
// backed-up sequence, the job writes one object: an increment holding those write batches
// (read from RocksDB's write-ahead log), or a new snapshot of every key when there is no
// backup yet, the database is another one (restored), the log does not reach back far
// enough, there are `max_increments` increments, or they add up to more than
// `increment_fraction` of the snapshot. It takes a new snapshot too, even when nothing
// changed, when a shard of the current backup (snapshot or increment) is on a node that is
// DOWN, draining or removed and could not be rebuilt elsewhere (jobs/backup_repair.h: such
// shards are rebuilt first, and the root naming their new nodes is written again). Then it
// records the new
// backup in the store (the BackupState record: the orphan sweep spares what it names), writes the
// root record to every node (backup/root_io.h), and after a new snapshot deletes the objects of the
// backup before the previous one. The previous complete backup is always kept, and the other root
// slot names it, so a crash at any point leaves a complete backup findable.
//
// Threads: a Worker (common/worker.h) named "metadata backup": a first cycle at once, then
// one every `interval` (a failed one is retried an interval later; with 0, one cycle only).
// RunOnce may be called from any thread (cycles run one at a time). Borrows everything (it
// must outlive the job).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "client/pipeline/object_writer.h"
#include "client/pipeline/pipeline.h"
#include "common/metrics.h"
#include "common/worker.h"
#include "proto/mosaic/v1/backup.pb.h"
#include "server/gateway/meta/meta_store.h"

namespace mosaic::gateway {

class MetadataBackup final : public Worker {
 public:
  struct Options {
    std::chrono::milliseconds interval{std::chrono::seconds(60)};  // 0 = only RunOnce
    int max_increments = 32;
    double increment_fraction = 0.5;
    // The gateway's settings, read at every cycle and sealed into the root
    // (backup/settings.h); a new root is written when they change, even with no new
    // metadata. Unset, or failing (logged), the settings of the last root are kept.
    std::function<absl::StatusOr<v1::GatewaySettings>()> settings = nullptr;
  };
  // What `mosaic status` shows.
  struct Progress {
    int64_t last_success_ms = 0;  // wall clock of the last cycle that succeeded; 0 = never
    int64_t covered_ms = 0;       // every write acknowledged before this is backed up
    uint64_t generation = 0;      // of the root last written
    uint64_t snapshot_bytes = 0;
    int increments = 0;      // on top of the current snapshot
    std::string last_error;  // of the last cycle, "" if it succeeded
  };

  MetadataBackup(MetaStore& meta, client::Pipeline& pipeline, metrics::Registry& registry,
                 Options options);
  // One cycle, then idle for `interval`; done after the first with an interval of 0.
  absl::StatusOr<WorkResult> Step() override;
  std::string Detail() const override;
  // One cycle now, on the calling thread. Errors: the pipeline's (UNAVAILABLE: too few
  // nodes), the store's; UNAVAILABLE too when no node took the root.
  [[nodiscard]] absl::Status RunOnce();
  Progress progress() const;

 private:
  absl::Status Cycle();
  // Write a snapshot / an increment as one pipeline object described in `out`. The writer
  // is returned alive (its chunks stay in the in-flight registry) until the state names
  // the object. WriteIncrement returns nullptr when there is nothing to back up.
  absl::StatusOr<std::unique_ptr<client::ObjectWriter>> WriteSnapshot(v1::BackupObject& out);
  absl::StatusOr<std::unique_ptr<client::ObjectWriter>> WriteIncrement(uint64_t after,
                                                                       v1::BackupObject& out);
  // The generation the first root of this gateway starts after: the highest found on the
  // nodes (a gateway started afresh must not lose to an older gateway's roots).
  uint64_t GenerationOnNodes();
  bool SnapshotDue(const v1::BackupState& state, const std::string& identity) const;
  // A node holding a shard of `current` (snapshot or increment) that is DOWN in the pool,
  // excluded from placement (draining, removed) or no longer in the pool; "" if none.
  std::string LostNode(const v1::BackupRoot& current) const;
  void Prune(const v1::BackupRoot& old);
  void Succeeded(const v1::BackupRoot& root, int64_t covered_ms);
  // The settings for the next root: fresh ones, or `last`'s.
  v1::GatewaySettings CurrentSettings(const v1::GatewaySettings& last);

  MetaStore& meta_;
  client::Pipeline& pipeline_;
  Options options_;
  metrics::Gauge& lag_;
  metrics::Gauge& last_success_;
  metrics::Counter& bytes_;
  metrics::Counter& failures_;

  std::mutex run_mu_;  // one cycle at a time
  mutable std::mutex mu_;
  Progress progress_;
};

}  // namespace mosaic::gateway
