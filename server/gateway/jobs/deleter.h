#pragma once
// The deletion queue's worker: deletes the shards of overwritten and deleted objects on the
// nodes, in the background, retrying (with backoff) until every node confirmed. Shards that
// were deleted are dropped from the entry, so a retry asks only for what is left.

#include <condition_variable>
#include <mutex>
#include <thread>

#include "client/pipeline/pipeline.h"
#include "common/metrics.h"
#include "server/gateway/meta/meta_store.h"

namespace mosaic::gateway {

class Deleter {
 public:
  // Starts the worker thread. All references must outlive the Deleter.
  Deleter(MetaStore& meta, client::Pipeline& pipeline, metrics::Registry& registry);
  ~Deleter();  // Stop()s
  void Stop();
  // Wakes the worker now (after queueing work).
  void Poke();
  // Processes what is due once, on the calling thread; returns entries completed.
  size_t RunOnce();

 private:
  MetaStore& meta_;
  client::Pipeline& pipeline_;
  metrics::Counter& deleted_;
  metrics::Counter& failed_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool poked_ = false;
  std::thread thread_;
};

}  // namespace mosaic::gateway
