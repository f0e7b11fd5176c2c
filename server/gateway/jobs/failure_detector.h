#pragma once
// Failure detection: every `check_interval`, each node of the pool that the pool does not see
// UP and that has not been seen for `down_after` (a node never seen counts from the
// detector's start) is declared down, and every stripe with a shard on it is queued for
// repair (reason "node down", margin = m - the stripe's shards on nodes declared down, at
// least 0), lowest margin first. The scan reads every piece (MetaStore::ListPieces, in pages).
//
// A node is recorded as declared down in the metadata (MetaStore::SetDeclaredDown) before its
// stripes are queued: a gateway started again (or another gateway taking the job over) that
// does not see such a node UP declares it down at its first check, without waiting
// `down_after` again, and queues its stripes anew (the queue merges the duplicates, one entry
// per stripe) — a gateway killed in the middle of the scan leaves no stripe unqueued for
// long. A node seen UP again is forgotten (its record too), so that a later failure queues
// its stripes again.
//
// A Worker (common/worker.h) named "failure detector": a check every `check_interval`, the
// first one interval after the start. The public methods are thread-safe.

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "client/rpc/node_pool.h"
#include "common/worker.h"
#include "server/gateway/meta/meta_store.h"

namespace mosaic::gateway {

class FailureDetector final : public Worker {
 public:
  // `on_queued` (optional) runs after a scan that queued stripes (to wake the repairer).
  // All references must outlive the detector.
  FailureDetector(MetaStore& meta, client::NodePool& pool, std::chrono::milliseconds down_after,
                  std::chrono::milliseconds check_interval,
                  std::function<void()> on_queued = nullptr);

  // One check at the system clock's now; then idle.
  absl::StatusOr<WorkResult> Step() override;
  std::string Detail() const override;
  // One check on the calling thread at `now`; returns the stripes queued.
  size_t RunOnce(std::chrono::system_clock::time_point now);
  // Nodes declared down (and queued) so far.
  std::set<std::string> DownNodes() const;
  // The nodes the pool does not see up and that are not declared down yet, each with the
  // time it will be declared down (at a check at or after it). For `mosaic status`.
  std::map<std::string, std::chrono::system_clock::time_point> DeclaresDownAt() const;

 private:
  // Queues every stripe with a shard on one of `nodes`; `down` = every node declared down.
  absl::StatusOr<size_t> QueueStripesOn(const std::set<std::string>& nodes,
                                        const std::set<std::string>& down);

  // Reads the nodes recorded as declared down, once (retried at the next check on failure).
  void LoadRecorded();
  // Records `nodes` as declared down at `now` / forgets them; false if the write failed.
  bool Record(const std::set<std::string>& nodes, std::chrono::system_clock::time_point now);
  void Forget(const std::string& node_id);

  MetaStore& meta_;
  client::NodePool& pool_;
  const std::chrono::milliseconds down_after_;
  const std::function<void()> on_queued_;
  const std::chrono::system_clock::time_point started_;

  mutable std::mutex mu_;
  std::set<std::string> down_;      // declared down and queued
  bool loaded_ = false;             // recorded_ read from the metadata
  std::set<std::string> recorded_;  // recorded as declared down in the metadata
};

}  // namespace mosaic::gateway
