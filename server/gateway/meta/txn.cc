#include "server/gateway/meta/txn.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <random>
#include <thread>

namespace mosaic::gateway::meta {
namespace {

// Lock waits time out after seconds, and deadlocks are rare (two copies crossing): a few
// attempts are enough; past them the caller gets UNAVAILABLE (S3: 503, retryable).
constexpr int kAttempts = 5;

}  // namespace

absl::Status Backend::Run(const std::function<absl::Status(Transaction&)>& body) {
  absl::Status status;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    std::unique_ptr<Transaction> t = Begin();
    status = body(*t);
    if (status.ok()) status = t->Commit();
    if (!absl::IsAborted(status)) return status;
    spdlog::debug("metadata: transaction retried: {}", status.ToString());
    // Apart, at random: transactions that collided do not collide again in step.
    thread_local std::minstd_rand rng(std::random_device{}());
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % (1000u << attempt)));
  }
  return absl::UnavailableError(std::string(status.message()));
}

}  // namespace mosaic::gateway::meta
