#pragma once
// One leader per background job among the gateways that share a database (issue 17). Each
// job has a lease row (MetaStore::GetLease/SwapLease): its holder's name and a heartbeat count
// that the holder raises every ttl/4 (LeaseKeeper). A gateway takes the lease when there is
// none, or when its count has not moved for `ttl` as measured on the taker's own steady
// clock: no clocks are compared across machines. Taking and renewing are a compare-and-set on
// the count, so of two gateways taking over at once one wins. A holder that has not renewed
// for ttl/2 stops leading (Leads() turns false) well before another may take over.
//
// A step in progress when leadership lapses finishes: the jobs' own rules (MoveShard's
// compare-and-set, deletes that may be repeated, FinishDeletion/FinishRepair of entries gone)
// hold when two steps overlap.
//
// Thread-safe.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/worker.h"
#include "server/gateway/meta/meta_store.h"

namespace mosaic::gateway {

class JobLease {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  JobLease(MetaStore& meta, std::string job, std::string me, std::chrono::milliseconds ttl,
           Clock clock = std::chrono::steady_clock::now);

  // One heartbeat: renews the lease if this gateway holds it, takes it if it is free or its
  // count has not moved for ttl. Returns whether this gateway leads now; the database's
  // errors (UNAVAILABLE, …) are returned, and leadership then lapses with time.
  [[nodiscard]] absl::StatusOr<bool> Beat();
  // Whether this gateway leads: it holds the lease and renewed it less than ttl/2 ago.
  bool Leads() const;
  // The holder last seen ("" if none yet).
  std::string Leader() const;
  const std::string& job() const { return job_; }

 private:
  MetaStore& meta_;
  const std::string job_;
  const std::string me_;
  const std::chrono::milliseconds ttl_;
  const Clock clock_;
  mutable std::mutex mu_;
  LeaseEntry seen_;                                                  // the lease as last read
  std::chrono::steady_clock::time_point seen_at_;                    // when seen_ was first read so
  std::optional<std::chrono::steady_clock::time_point> renewed_at_;  // ours, when held
};

// The heartbeat of a gateway's leases: a worker that beats every lease each ttl/4, and wakes
// a job's worker when this gateway becomes its leader.
class LeaseKeeper final : public Worker {
 public:
  LeaseKeeper(MetaStore& meta, std::string me, std::chrono::milliseconds ttl);
  // Runs `worker` under the lease named after it (Worker::SetGate). Before the runner runs
  // either.
  void Guard(Worker& worker);
  absl::StatusOr<WorkResult> Step() override;
  std::string Detail() const override;

 private:
  MetaStore& meta_;
  const std::string me_;
  const std::chrono::milliseconds ttl_;
  std::vector<std::pair<std::unique_ptr<JobLease>, Worker*>> leases_;
};

// This gateway's name in leases: the host's name and the gateway's data folder.
std::string GatewayName(const std::string& data_dir);

}  // namespace mosaic::gateway
