#pragma once
// "Mark uploading first" across gateways (issue 17). Gateways that share the metadata each
// run an orphan sweep that knows only its own process's writers (client::InFlightChunks), so
// every writer also records its object in the database (meta/tables/writes.h) before the
// first shard of each reserved stripe is sent (client::WriteJournal), under a writer name
// that is this run of this gateway. The sweep of any gateway spares the chunks of the
// recorded stripes while the writer is alive: its heartbeat count, raised every ttl/4 by
// this worker, moved within `ttl` as the sweeper's own clock measures it (WriterWatch; no
// clocks are compared across machines). A writer that stopped beating (a gateway killed
// mid-upload) leaves its records as named targets: a sweep drops them, and their chunks are
// then orphans, deleted after the sweep's grace like any other.
//
// Releases are batched: a committed object's record is deleted at the next heartbeat (a
// record that outlives its commit protects chunks the manifest names anyway). If a sweep
// dropped this writer (it did not beat for ttl: a paused process, a lost database), the next
// heartbeat notices and records every write still in progress again.
//
// Thread-safe.

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "client/pipeline/pipeline.h"
#include "common/worker.h"
#include "server/gateway/meta/meta_store.h"

namespace mosaic::gateway {

class WriteJournal final : public client::WriteJournal, public Worker {
 public:
  // `gateway`: this gateway's name (GatewayName); the writer name adds a random suffix.
  WriteJournal(MetaStore& meta, const std::string& gateway, std::chrono::milliseconds ttl);

  // MetaStore::MarkWrite's errors (UNAVAILABLE when the database is down).
  absl::Status Reserve(const client::ObjectId& object, int shards, uint64_t stripes) override;
  void Release(const client::ObjectId& object) override;
  // One heartbeat, and the released records deleted.
  absl::StatusOr<WorkResult> Step() override;
  std::string Detail() const override;

  const std::string& writer() const { return writer_; }

 private:
  MetaStore& meta_;
  const std::string writer_;
  const std::chrono::milliseconds ttl_;
  mutable std::mutex mu_;
  std::map<std::string, WriteInFlight> live_;  // by object id
  std::vector<std::string> released_;          // object ids whose records are to go
  uint64_t beat_ = 0;                          // the heartbeat count last written
};

// Which writers of the journal are alive, as seen from one process: a writer is dead when
// its heartbeat count (0 if it has none) has not moved for `ttl` since this watch first saw
// that count, and it is not `me`. Not thread-safe.
class WriterWatch {
 public:
  using Clock = std::chrono::steady_clock;
  WriterWatch(std::string me, std::chrono::milliseconds ttl) : me_(std::move(me)), ttl_(ttl) {}
  // Observes `writer`'s heartbeat count `count` at `now`; returns whether it is dead.
  bool Dead(const std::string& writer, uint64_t count, Clock::time_point now);
  // Forgets a writer whose records were dropped.
  void Forget(const std::string& writer) { seen_.erase(writer); }

 private:
  std::string me_;
  std::chrono::milliseconds ttl_;
  std::map<std::string, std::pair<uint64_t, Clock::time_point>> seen_;  // count, first seen
};

}  // namespace mosaic::gateway
