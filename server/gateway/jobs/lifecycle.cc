// The lifecycle job (lifecycle.h).

#include "server/gateway/jobs/lifecycle.h"

#include <algorithm>

#include "common/clock.h"
#include "common/status.h"
#include "server/gateway/jobs/lifecycle_decision.h"

namespace mosaic::gateway {
namespace {

constexpr size_t kBatch = 100;  // version rows read per step
constexpr size_t kUploadPage = 1000;
constexpr auto kPause = std::chrono::milliseconds(50);

std::string S3Id(const v1::ObjectRecord& r) {
  return r.version_id().empty() ? "null" : r.version_id();
}

}  // namespace

LifecycleJob::LifecycleJob(MetaStore& meta, std::chrono::milliseconds day,
                           std::function<void()> on_deleted)
    : Worker("lifecycle",
             // Rules count whole days: a pass every 24th of a day is soon enough (an hour;
             // half a second at least, with the test-only short day).
             Options{.idle_wait = std::clamp<std::chrono::milliseconds>(
                         day / 24, std::chrono::milliseconds(500), std::chrono::hours(1))}),
      meta_(meta),
      day_ms_(day.count()),
      on_deleted_(std::move(on_deleted)) {}

v1::LifecycleCursor LifecycleJob::progress() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cursor_;
}

std::string LifecycleJob::Detail() const {
  v1::LifecycleCursor p = progress();
  return std::to_string(p.passes()) + " passes" +
         (p.bucket().empty() ? "" : ", in bucket " + p.bucket()) + "; " + std::to_string(p.keys()) +
         " keys looked at, " + std::to_string(p.expired()) + " objects expired, " +
         std::to_string(p.versions_deleted()) + " versions deleted, " +
         std::to_string(p.locked_kept()) + " kept by Object Lock, " +
         std::to_string(p.uploads_aborted()) + " uploads aborted";
}

absl::Status LifecycleJob::NextBucket(v1::LifecycleCursor& c, int64_t now_ms) {
  ASSIGN_OR_RETURN(auto buckets, meta_.ListBuckets());
  for (const auto& [name, record] : buckets) {
    if (name <= c.bucket() || record.lifecycle_size() == 0) continue;
    if (c.bucket().empty()) c.set_pass_started_ms(now_ms);
    c.set_bucket(name);
    c.clear_next_key();
    return AbortUploads(name, record, c, now_ms);
  }
  if (!c.bucket().empty()) c.set_passes(c.passes() + 1);
  c.clear_bucket();
  c.clear_next_key();
  return absl::OkStatus();
}

absl::Status LifecycleJob::AbortUploads(const std::string& name, const v1::BucketRecord& bucket,
                                        v1::LifecycleCursor& c, int64_t now_ms) {
  std::string key_marker, upload_marker;
  while (true) {
    ASSIGN_OR_RETURN(auto uploads,
                     meta_.ListUploads(name, "", key_marker, upload_marker, kUploadPage));
    for (const UploadEntry& u : uploads) {
      if (!UploadExpires(bucket.lifecycle(), u.key, u.record.initiated_ms(), now_ms, day_ms_)) {
        continue;
      }
      ASSIGN_OR_RETURN(bool found, meta_.AbortUpload(name, u.key, u.record.upload_id()));
      if (found) c.set_uploads_aborted(c.uploads_aborted() + 1);
    }
    if (uploads.size() < kUploadPage) return absl::OkStatus();
    key_marker = uploads.back().key;
    upload_marker = uploads.back().record.upload_id();
  }
}

absl::StatusOr<std::vector<v1::ObjectRecord>> LifecycleJob::KeyVersions(const std::string& name,
                                                                        const std::string& key) {
  std::vector<v1::ObjectRecord> versions;
  std::optional<std::string> after;
  while (true) {
    ASSIGN_OR_RETURN(auto rows, meta_.ListVersions(name, key, key, after, kBatch));
    for (VersionEntry& e : rows) {
      if (e.key != key) return versions;
      after = S3Id(e.record);
      versions.push_back(std::move(e.record));
    }
    if (rows.size() < kBatch) return versions;
  }
}

absl::Status LifecycleJob::ApplyToKey(const std::string& name, const v1::BucketRecord& bucket,
                                      const std::string& key, v1::LifecycleCursor& c,
                                      int64_t now_ms, bool& released) {
  ASSIGN_OR_RETURN(std::vector<v1::ObjectRecord> versions, KeyVersions(name, key));
  LifecycleDecision d = DecideKey(bucket.lifecycle(), key, versions, now_ms, day_ms_);
  c.set_keys(c.keys() + 1);
  if (d.expire_current) {
    // In a versioned bucket a delete marker (allowed over a locked version, as in S3); in an
    // unversioned one the object goes.
    RETURN_IF_ERROR(meta_.DeleteVersion(name, key, std::nullopt, false, now_ms).status());
    c.set_expired(c.expired() + 1);
    released = true;
  }
  bool refused = false;
  for (const std::string& id : d.delete_versions) {
    // A lone marker goes only once every version under it went.
    if (refused && d.lone_marker && id == d.delete_versions.back()) break;
    auto deleted = meta_.DeleteVersion(name, key, id, false, now_ms);
    if (absl::IsPermissionDenied(deleted.status())) {
      refused = true;  // Object Lock: left as it is
      c.set_locked_kept(c.locked_kept() + 1);
      continue;
    }
    RETURN_IF_ERROR(deleted.status());
    if (deleted->existed) c.set_versions_deleted(c.versions_deleted() + 1);
    released = true;
  }
  return absl::OkStatus();
}

absl::StatusOr<WorkResult> LifecycleJob::Step() {
  // Read at every step: another gateway may have led the job meanwhile (leases).
  ASSIGN_OR_RETURN(auto stored, meta_.GetLifecycleCursor());
  v1::LifecycleCursor c = stored ? *stored : v1::LifecycleCursor();
  int64_t now_ms = UnixNowMs();
  bool released = false;
  if (c.bucket().empty()) {
    RETURN_IF_ERROR(NextBucket(c, now_ms));
    if (c.bucket().empty()) return WorkResult::Idle();  // no bucket has rules
  }
  ASSIGN_OR_RETURN(auto bucket, meta_.GetBucket(c.bucket()));
  size_t rows_read = 0;
  if (bucket && bucket->lifecycle_size() > 0) {
    ASSIGN_OR_RETURN(auto rows,
                     meta_.ListVersions(c.bucket(), "", c.next_key(), std::nullopt, kBatch));
    rows_read = rows.size();
    std::string last;
    for (const VersionEntry& e : rows) {
      if (e.key == last) continue;
      last = e.key;
      RETURN_IF_ERROR(ApplyToKey(c.bucket(), *bucket, e.key, c, now_ms, released));
      // The next key after this one: keys never hold a NUL, and key + NUL would still take
      // this key's version rows (<key> NUL <order>).
      c.set_next_key(e.key + std::string(1, '\x01'));
    }
  }
  if (rows_read < kBatch) RETURN_IF_ERROR(NextBucket(c, now_ms));
  RETURN_IF_ERROR(meta_.PutLifecycleCursor(c));
  {
    std::lock_guard<std::mutex> lock(mu_);
    cursor_ = c;
  }
  if (released && on_deleted_) on_deleted_();
  if (c.bucket().empty()) return WorkResult::Idle();  // the pass is over
  return WorkResult::Throttled(kPause);
}

}  // namespace mosaic::gateway
