#pragma once
// Table of bucket usage counters (issue 15): `U` <bucket> NUL <shard, 1 byte> -> BucketUsage.
// A bucket's usage is the bytes and the number of every version it stores (the current
// objects and the older versions; delete markers count for nothing): the sum of its rows.
// Every transaction that adds or removes an object or a version adds its change to one of
// the bucket's kShards rows, in the same transaction (MetaStore::ApplyReferences): counters,
// not scans, and a bucket's concurrent writes lock different rows instead of queueing on one.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/meta/quota_error.h"
#include "server/gateway/meta/row.h"

namespace mosaic::gateway::meta::usage {

inline constexpr int kShards = 32;

struct Usage {
  int64_t bytes = 0;
  int64_t objects = 0;
};

// Adds `delta` to one of the bucket's rows, locked until the transaction ends (call it last
// in a transaction, after its other locks, so that it never waits while holding one).
absl::Status Add(Transaction& t, const std::string& bucket, const Usage& delta);
// The sum of the bucket's rows (read, not locked).
absl::StatusOr<Usage> Get(Transaction& t, const std::string& bucket);
// Removes the bucket's rows (with the bucket).
absl::Status Clear(Transaction& t, const std::string& bucket);

// The quota arithmetic: OK when a write that changes the bucket's usage by `delta` keeps it
// within the bucket's quota (BucketRecord quota_bytes / quota_objects, 0 = none), or does
// not grow what it exceeds; otherwise QuotaExceededError (meta/quota_error.h) with a message
// for people.
absl::Status CheckQuota(const std::string& bucket, const v1::BucketRecord& b, const Usage& now,
                        const Usage& delta);

}  // namespace mosaic::gateway::meta::usage
