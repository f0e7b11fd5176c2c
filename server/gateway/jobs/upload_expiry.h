#pragma once
// The multipart upload expiry job: aborts uploads left incomplete for longer than the
// configured expiry (GatewayConfig::multipart_expiry), so that abandoned parts do not hold
// storage forever. Aborting queues the parts' data on the deletion queue (MetaStore), which
// the Deleter empties.

#include <chrono>
#include <cstdint>
#include <functional>

#include "common/worker.h"
#include "server/gateway/meta/meta_store.h"

namespace mosaic::gateway {

// A Worker (common/worker.h) named "upload expiry": a pass every minute, and on Wake().
class UploadExpiry final : public Worker {
 public:
  // `on_aborted` (optional) runs after a pass that aborted uploads (to wake the Deleter).
  // `meta` must outlive the job.
  UploadExpiry(MetaStore& meta, std::chrono::milliseconds expiry,
               std::function<void()> on_aborted = nullptr);
  // One pass at the wall clock's now; then idle.
  absl::StatusOr<WorkResult> Step() override;
  // One pass on the calling thread: aborts every upload initiated before now_ms - expiry.
  // Returns how many were aborted. Errors are logged, not returned (the next pass retries).
  size_t RunOnce(int64_t now_ms);

 private:
  MetaStore& meta_;
  const std::chrono::milliseconds expiry_;
  const std::function<void()> on_aborted_;
};

}  // namespace mosaic::gateway
