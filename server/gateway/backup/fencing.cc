#include "server/gateway/backup/fencing.h"

#include <algorithm>
#include <thread>

#include "common/status.h"

namespace mosaic::gateway {
namespace {

// Node i's Fence(generation), for every node at once.
std::vector<absl::StatusOr<uint64_t>> FenceAll(client::NodePool& pool, uint64_t generation) {
  std::vector<absl::StatusOr<uint64_t>> out(pool.size(), absl::UnknownError("not asked"));
  std::vector<std::thread> threads;
  for (int i = 0; i < pool.size(); ++i) {
    threads.emplace_back([&, i] { out[i] = pool.node(i).Fence(generation); });
  }
  for (std::thread& t : threads) t.join();
  return out;
}

}  // namespace

absl::StatusOr<uint64_t> FencingGeneration(const MetaStore& store) {
  ASSIGN_OR_RETURN(std::optional<v1::BackupState> state, store.GetBackupState());
  return state ? state->fencing_generation() : 0;
}

absl::StatusOr<FenceReport> TakeNewGeneration(MetaStore& store, client::NodePool& pool) {
  FenceReport report;
  report.nodes = pool.size();
  ASSIGN_OR_RETURN(std::optional<v1::BackupState> state, store.GetBackupState());
  v1::BackupState next = state.value_or(v1::BackupState());
  report.previous = next.fencing_generation();
  for (const auto& asked : FenceAll(pool, 0)) {
    if (asked.ok()) report.previous = std::max(report.previous, *asked);
  }
  report.generation = report.previous + 1;
  next.set_fencing_generation(report.generation);
  RETURN_IF_ERROR(store.PutBackupState(next));
  pool.SetGeneration(report.generation);
  std::vector<absl::StatusOr<uint64_t>> raised = FenceAll(pool, report.generation);
  for (int i = 0; i < pool.size(); ++i) {
    if (raised[i].ok() && *raised[i] == report.generation) {
      ++report.fenced;
    } else {
      report.failures.push_back(pool.node(i).id() + ": " +
                                (raised[i].ok() ? "holds generation " + std::to_string(*raised[i])
                                                : raised[i].status().ToString()));
    }
  }
  return report;
}

}  // namespace mosaic::gateway
