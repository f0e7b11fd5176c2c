#include "server/gateway/job_views.h"

#include <algorithm>

namespace mosaic::gateway {

RepairProgressView RepairProgressFromRepairer(const Repairer::Progress& progress) {
  RepairProgressView view;
  view.backlog = progress.backlog;
  view.done = progress.shards_done;
  view.bytes_per_second = progress.bytes_per_second;
  if (progress.shards_done > 0 && progress.bytes_per_second > 0) {
    double bytes_per_stripe =
        static_cast<double>(progress.bytes_done) / static_cast<double>(progress.shards_done);
    view.eta_seconds =
        static_cast<double>(progress.backlog) * bytes_per_stripe / progress.bytes_per_second;
  } else if (progress.backlog == 0) {
    view.eta_seconds = 0;
  }
  return view;
}

BackupView BackupViewFromJob(const MetadataBackup::Progress& progress, int64_t now_ms) {
  BackupView v;
  v.last_success_ms = progress.last_success_ms;
  v.covered_ms = progress.covered_ms;
  if (progress.covered_ms > 0) {
    v.lag_seconds = double(std::max<int64_t>(0, now_ms - progress.covered_ms)) / 1000.0;
  }
  v.generation = progress.generation;
  v.last_error = progress.last_error;
  return v;
}

FailureView FailureViewFromDetector(const FailureDetector& detector) {
  FailureView view;
  view.declared_down = detector.DownNodes();
  for (const auto& [id, at] : detector.DeclaresDownAt()) {
    view.declare_down_at_ms[id] =
        std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
  }
  return view;
}

}  // namespace mosaic::gateway
