#pragma once
// The deletion queue's worker: deletes the shards of overwritten and deleted objects on the
// nodes, in the background, retrying (with backoff) until every node confirmed. Shards that
// were deleted are dropped from the entry, so a retry asks only for what is left.

#include "client/pipeline/pipeline.h"
#include "common/metrics.h"
#include "common/worker.h"
#include "server/gateway/meta/meta_store.h"

namespace mosaic::gateway {

// Deletes the shards of data no record names (a PUT or part whose commit failed) now, and
// queues what a node did not confirm on the deletion queue, so that it is retried instead of
// waiting for the orphan sweep. Returns the queueing's error (the shards left are then the
// orphan sweep's). Blocks like Pipeline::Delete.
[[nodiscard]] absl::Status DeleteOrQueue(MetaStore& meta, client::Pipeline& pipeline,
                                         const client::ObjectManifest& manifest);

// A Worker (common/worker.h) named "deleter": a pass every 2 s, and at once on Wake() (after
// queueing work). Run by a WorkerRunner; all references must outlive it.
class Deleter final : public Worker {
 public:
  Deleter(MetaStore& meta, client::Pipeline& pipeline, metrics::Registry& registry);
  // Processes what is due once, on the calling thread; returns entries completed.
  size_t RunOnce();
  // One pass: busy when it completed entries (more may be due), else idle.
  absl::StatusOr<WorkResult> Step() override;
  std::string Detail() const override;

 private:
  MetaStore& meta_;
  client::Pipeline& pipeline_;
  metrics::Counter& deleted_;
  metrics::Counter& failed_;
};

}  // namespace mosaic::gateway
