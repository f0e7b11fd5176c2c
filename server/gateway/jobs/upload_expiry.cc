#include "server/gateway/jobs/upload_expiry.h"

#include <spdlog/spdlog.h>

#include "absl/time/time.h"
#include "common/clock.h"

namespace mosaic::gateway {
namespace {

constexpr auto kInterval = std::chrono::minutes(1);
constexpr size_t kBatch = 256;

}  // namespace

UploadExpiry::UploadExpiry(MetaStore& meta, std::chrono::milliseconds expiry,
                           std::function<void()> on_aborted)
    : Worker("upload expiry", {.idle_wait = kInterval}),
      meta_(meta),
      expiry_(expiry),
      on_aborted_(std::move(on_aborted)) {}

absl::StatusOr<WorkResult> UploadExpiry::Step() {
  RunOnce(UnixNowMs());
  return WorkResult::Idle();
}

size_t UploadExpiry::RunOnce(int64_t now_ms) {
  int64_t before_ms = now_ms - expiry_.count();
  size_t aborted = 0;
  while (true) {
    auto old = meta_.UploadsInitiatedBefore(before_ms, kBatch);
    if (!old.ok()) {
      spdlog::error("upload expiry: {}", old.status().ToString());
      break;
    }
    size_t failed = 0;
    for (const UploadEntry& u : *old) {
      auto gone = meta_.AbortUpload(u.bucket, u.key, u.record.upload_id());
      if (!gone.ok()) {
        spdlog::error("upload expiry: abort {}: {}", u.record.upload_id(),
                      gone.status().ToString());
        ++failed;
        continue;
      }
      if (*gone) {
        ++aborted;
        spdlog::info(
            "upload expiry: aborted upload {} initiated at {}", u.record.upload_id(),
            absl::FormatTime(absl::FromUnixMillis(u.record.initiated_ms()), absl::UTCTimeZone()));
      }
    }
    // A full batch may have more behind it; one that could not be aborted stops the pass
    // (it would come back first every time).
    if (old->size() < kBatch || failed > 0) break;
  }
  if (aborted > 0 && on_aborted_) on_aborted_();
  return aborted;
}

}  // namespace mosaic::gateway
