#include "server/gateway/jobs/deleter.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/clock.h"
#include "server/gateway/meta/manifest_codec.h"

namespace mosaic::gateway {
namespace {

constexpr auto kIdlePoll = std::chrono::seconds(2);
constexpr size_t kBatch = 64;
constexpr int64_t kMaxBackoffMs = 10 * 60 * 1000;

}  // namespace

absl::Status DeleteOrQueue(MetaStore& meta, client::Pipeline& pipeline,
                           const client::ObjectManifest& manifest) {
  std::vector<client::BadShard> failed = pipeline.Delete(manifest);
  if (failed.empty()) return absl::OkStatus();
  spdlog::warn("{} shards of unreferenced data not deleted yet ({}): queued for deletion",
               failed.size(), failed.front().status.ToString());
  return meta.QueueDeletion(ToProto(client::ShardsLeft(manifest, failed)));
}

Deleter::Deleter(MetaStore& meta, client::Pipeline& pipeline, metrics::Registry& registry)
    : Worker("deleter", {.idle_wait = kIdlePoll}),
      meta_(meta),
      pipeline_(pipeline),
      deleted_(registry.GetCounter("mosaic_gateway_deleted_objects_total",
                                   "Queued object data deleted from every node.")),
      failed_(registry.GetCounter("mosaic_gateway_deletion_retries_total",
                                  "Deletion queue entries retried (a node did not confirm).")) {
  auto& backlog = registry.GetGauge("mosaic_gateway_deletion_backlog",
                                    "Objects whose data awaits deletion on the nodes.");
  registry.AddRefresher([&backlog, &meta] { backlog.Set(double(meta.DeletionBacklog())); });
}

absl::StatusOr<WorkResult> Deleter::Step() {
  return RunOnce() > 0 ? WorkResult::Busy() : WorkResult::Idle();
}

std::string Deleter::Detail() const {
  return std::to_string(meta_.DeletionBacklog()) + " objects queued for deletion";
}

size_t Deleter::RunOnce() {
  auto pending = meta_.PendingDeletions(kBatch);
  if (!pending.ok()) {
    spdlog::error("deletion queue: {}", pending.status().ToString());
    return 0;
  }
  size_t done = 0;
  int64_t now = UnixNowMs();
  for (auto& [seq, record] : *pending) {
    if (record.not_before_ms() > now) continue;
    auto manifest = FromProto(record.manifest());
    std::vector<client::BadShard> failed;
    if (manifest.ok()) failed = pipeline_.Delete(*manifest);
    std::optional<v1::DeletionRecord> retry;
    if (!manifest.ok()) {
      spdlog::error("deletion queue entry {} is unreadable and dropped: {}", seq,
                    manifest.status().ToString());
    } else if (!failed.empty()) {
      // Keep only the shards that are left: a deleted shard's node becomes "".
      v1::DeletionRecord next = record;
      *next.mutable_manifest() = ToProto(client::ShardsLeft(*manifest, failed));
      next.set_attempts(record.attempts() + 1);
      int64_t backoff =
          std::min<int64_t>(kMaxBackoffMs, int64_t{1000} << std::min(20u, next.attempts()));
      next.set_not_before_ms(now + backoff);
      // Said once per entry (a fenced gateway's deletions fail for good: issue 20).
      if (record.attempts() == 0) {
        spdlog::warn("deletion queue entry {}: {} shards not deleted yet ({}); retried later", seq,
                     failed.size(), failed.front().status.ToString());
      }
      retry = std::move(next);
      failed_.Inc();
    }
    if (auto s = meta_.FinishDeletion(seq, retry); !s.ok()) {
      spdlog::error("deletion queue: {}", s.ToString());
      continue;
    }
    if (!retry) {
      ++done;
      deleted_.Inc();
    }
  }
  return done;
}

}  // namespace mosaic::gateway
