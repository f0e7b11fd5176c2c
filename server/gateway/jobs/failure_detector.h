#pragma once
// Failure detection: every `check_interval`, each node of the pool that the pool does not see
// UP and that has not been seen for `down_after` (a node never seen counts from the
// detector's start) is declared down, and every stripe with a shard on it is queued for
// repair (reason "node down", margin = m - the stripe's shards on nodes declared down, at
// least 0), lowest margin first. The scan reads every piece (MetaStore::ListPieces, in pages).
//
// Which nodes were queued is kept in memory only: after a restart the scan runs again, and
// the queue merges the duplicates (one entry per stripe). A node seen UP again is forgotten,
// so that a later failure queues its stripes again.
//
// Threads: one worker thread; the public methods are thread-safe.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "client/rpc/node_pool.h"
#include "server/gateway/meta/meta_store.h"

namespace mosaic::gateway {

class FailureDetector {
 public:
  // `on_queued` (optional) runs after a scan that queued stripes (to wake the repairer).
  // Does not start the thread. All references must outlive the detector.
  FailureDetector(MetaStore& meta, client::NodePool& pool, std::chrono::milliseconds down_after,
                  std::chrono::milliseconds check_interval,
                  std::function<void()> on_queued = nullptr);
  ~FailureDetector();  // Stop()s

  void Start();
  void Stop();  // idempotent
  // One check on the calling thread at `now`; returns the stripes queued.
  size_t RunOnce(std::chrono::system_clock::time_point now);
  // Nodes declared down (and queued) so far.
  std::set<std::string> DownNodes() const;

 private:
  // Queues every stripe with a shard on one of `nodes`; `down` = every node declared down.
  absl::StatusOr<size_t> QueueStripesOn(const std::set<std::string>& nodes,
                                        const std::set<std::string>& down);

  MetaStore& meta_;
  client::NodePool& pool_;
  const std::chrono::milliseconds down_after_;
  const std::chrono::milliseconds check_interval_;
  const std::function<void()> on_queued_;
  const std::chrono::system_clock::time_point started_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::set<std::string> down_;  // declared down and queued
  std::thread thread_;
};

}  // namespace mosaic::gateway
