#pragma once
// What a bucket's lifecycle rules (s3/lifecycle_rules.h parses them) decide for one key's
// versions and for an incomplete upload: the lifecycle job's decisions (jobs/lifecycle.h).
// Pure functions: no I/O, any thread.

#include <cstdint>
#include <string>
#include <vector>

#include "proto/mosaic/v1/meta.pb.h"

namespace mosaic::gateway {

// Whether an incomplete upload of `key` initiated at `initiated_ms` is to be aborted at
// `now_ms` (an enabled rule with AbortIncompleteMultipartUpload whose prefix takes the key).
bool UploadExpires(const google::protobuf::RepeatedPtrField<v1::LifecycleRule>& rules,
                   const std::string& key, int64_t initiated_ms, int64_t now_ms, int64_t day_ms);

// Whether an enabled rule's filter (prefix, every tag) takes the version of `key`.
bool RuleApplies(const v1::LifecycleRule& rule, const std::string& key,
                 const v1::ObjectRecord& version);

// The versions of one key to delete at `now_ms`, newest first as given (`versions`: every
// version of the key, newest first), by their S3 ids, and whether the current object
// expires (a delete marker is written). A `day_ms` is a day (shorter only in tests).
// As S3 counts: Expiration Days from the version's creation, NoncurrentDays from when it
// became noncurrent (its successor's creation), each time + N days rounded up to the next
// midnight UTC (the next multiple of `day_ms` since the epoch); Expiration Date as given.
struct LifecycleDecision {
  bool expire_current = false;
  std::vector<std::string> delete_versions;
  // The last of delete_versions is the key's delete marker, left alone once every older
  // version goes (ExpiredObjectDeleteMarker): to be kept if any of those is kept.
  bool lone_marker = false;
};
LifecycleDecision DecideKey(const google::protobuf::RepeatedPtrField<v1::LifecycleRule>& rules,
                            const std::string& key, const std::vector<v1::ObjectRecord>& versions,
                            int64_t now_ms, int64_t day_ms);

}  // namespace mosaic::gateway
