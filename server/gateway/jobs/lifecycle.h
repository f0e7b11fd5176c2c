#pragma once
// The lifecycle job (issue 16): applies every bucket's lifecycle rules (lifecycle_decision.h)
// in passes over the buckets that have rules, a batch of version rows per step with a pause
// between steps (its rate limit): expires current objects (a delete marker in a versioned
// bucket), deletes noncurrent versions and lone delete markers, and aborts incomplete
// multipart uploads (when it enters a bucket). A version under Object Lock is never touched:
// the metadata store refuses its deletion (MetaStore::DeleteVersion, PERMISSION_DENIED) and
// the job counts it as kept. Every step ends by writing its cursor row
// (MetaStore::PutLifecycleCursor: bucket, next key, counters), so a restarted gateway, or
// another gateway taking over the job's lease, resumes the pass where it stood; a step redone
// after a crash decides again from the records, so doing it twice is harmless.

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "common/worker.h"
#include "server/gateway/meta/meta_store.h"

namespace mosaic::gateway {

class LifecycleJob final : public Worker {
 public:
  // `day`: a day's length (24 h; shorter only through the test-only config key
  // test_lifecycle_day). `on_deleted` (optional) runs after a step that released data (to
  // wake the Deleter). `meta` must outlive the job.
  LifecycleJob(MetaStore& meta, std::chrono::milliseconds day,
               std::function<void()> on_deleted = nullptr);
  // One batch at the wall clock's now. Busy/throttled within a pass, idle between passes.
  absl::StatusOr<WorkResult> Step() override;
  // "3 passes, in bucket b; 120 keys looked at, 4 objects expired, …". Any thread.
  std::string Detail() const override;
  v1::LifecycleCursor progress() const;

 private:
  // Enters the next bucket with rules after the cursor's (aborting its old uploads); none
  // left: the pass is over.
  absl::Status NextBucket(v1::LifecycleCursor& c, int64_t now_ms);
  absl::Status AbortUploads(const std::string& name, const v1::BucketRecord& bucket,
                            v1::LifecycleCursor& c, int64_t now_ms);
  // Every version of `key`, newest first.
  absl::StatusOr<std::vector<v1::ObjectRecord>> KeyVersions(const std::string& name,
                                                            const std::string& key);
  absl::Status ApplyToKey(const std::string& name, const v1::BucketRecord& bucket,
                          const std::string& key, v1::LifecycleCursor& c, int64_t now_ms,
                          bool& released);

  MetaStore& meta_;
  const int64_t day_ms_;
  const std::function<void()> on_deleted_;
  mutable std::mutex mu_;
  v1::LifecycleCursor cursor_;  // guarded by mu_; the last one written
};

}  // namespace mosaic::gateway
