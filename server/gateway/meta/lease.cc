#include "server/gateway/meta/lease.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "common/status.h"

namespace mosaic::gateway {

JobLease::JobLease(MetaStore& meta, std::string job, std::string me, std::chrono::milliseconds ttl,
                   Clock clock)
    : meta_(meta), job_(std::move(job)), me_(std::move(me)), ttl_(ttl), clock_(std::move(clock)) {}

absl::StatusOr<bool> JobLease::Beat() {
  auto now = clock_();
  ASSIGN_OR_RETURN(std::optional<LeaseEntry> current, meta_.GetLease(job_));
  LeaseEntry lease = current.value_or(LeaseEntry());
  std::unique_lock lock(mu_);
  if (lease.holder != seen_.holder || lease.beat != seen_.beat) {
    seen_ = lease;
    seen_at_ = now;
  }
  bool free = !current || lease.holder == me_ || now - seen_at_ >= ttl_;
  if (!free) {
    renewed_at_.reset();
    return false;
  }
  lock.unlock();
  LeaseEntry next{me_, lease.beat + 1};
  ASSIGN_OR_RETURN(bool swapped, meta_.SwapLease(job_, lease.beat, next));
  lock.lock();
  if (!swapped) {  // another gateway renewed or took it meanwhile: read again next time
    renewed_at_.reset();
    return false;
  }
  if (lease.holder != me_) {
    spdlog::info("lease: this gateway now leads {} (after {})", job_,
                 lease.holder.empty() ? "nobody" : lease.holder);
  }
  seen_ = next;
  seen_at_ = now;
  renewed_at_ = now;
  return true;
}

bool JobLease::Leads() const {
  std::lock_guard lock(mu_);
  return renewed_at_ && clock_() - *renewed_at_ < ttl_ / 2;
}

std::string JobLease::Leader() const {
  std::lock_guard lock(mu_);
  return seen_.holder;
}

LeaseKeeper::LeaseKeeper(MetaStore& meta, std::string me, std::chrono::milliseconds ttl)
    : Worker("leases", Options{.idle_wait = ttl / 4,
                               .backoff_initial = std::chrono::milliseconds(500),
                               .backoff_max = ttl / 4}),
      meta_(meta),
      me_(std::move(me)),
      ttl_(ttl) {}

void LeaseKeeper::Guard(Worker& worker) {
  auto lease = std::make_unique<JobLease>(meta_, worker.name(), me_, ttl_);
  JobLease* l = lease.get();
  worker.SetGate({[l] { return l->Leads(); }, [l] { return l->Leader(); }});
  leases_.emplace_back(std::move(lease), &worker);
}

absl::StatusOr<WorkResult> LeaseKeeper::Step() {
  absl::Status first_error;
  for (auto& [lease, worker] : leases_) {
    bool led = lease->Leads();
    auto leads = lease->Beat();
    if (!leads.ok()) {
      if (first_error.ok()) first_error = leads.status();
      continue;
    }
    if (*leads && !led) worker->Wake();
  }
  RETURN_IF_ERROR(first_error);
  return WorkResult::Idle(ttl_ / 4);
}

std::string LeaseKeeper::Detail() const {
  size_t led = 0;
  for (const auto& [lease, worker] : leases_) led += lease->Leads() ? 1 : 0;
  return "this gateway (" + me_ + ") leads " + std::to_string(led) + " of " +
         std::to_string(leases_.size()) + " jobs";
}

std::string GatewayName(const std::string& data_dir) {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return std::string(host) + ":" + data_dir;
}

}  // namespace mosaic::gateway
