#include "server/gateway/meta/tables/usage.h"

#include <algorithm>
#include <atomic>

#include "common/units.h"

namespace mosaic::gateway::meta::usage {
namespace {

constexpr char kTag = 'U';

std::string Bytes(int64_t n) { return FormatSize(static_cast<uint64_t>(std::max<int64_t>(n, 0))); }

std::string Prefix(const std::string& bucket) { return std::string(1, kTag) + bucket + '\0'; }

}  // namespace

absl::Status Add(Transaction& t, const std::string& bucket, const Usage& delta) {
  if (delta.bytes == 0 && delta.objects == 0) return absl::OkStatus();
  // Round robin over the shards: writers of one bucket spread over its rows.
  static std::atomic<uint32_t> next{0};
  std::string key = Prefix(bucket) + static_cast<char>(next.fetch_add(1) % kShards);
  ASSIGN_OR_RETURN(auto row,
                   GetRow<v1::BucketUsage>(t, key, "usage", Transaction::Lock::kExclusive));
  v1::BucketUsage u = row.value_or(v1::BucketUsage());
  u.set_bytes(u.bytes() + delta.bytes);
  u.set_objects(u.objects() + delta.objects);
  return PutRow(t, key, u);
}

absl::StatusOr<Usage> Get(Transaction& t, const std::string& bucket) {
  ASSIGN_OR_RETURN(auto rows, ScanRows<v1::BucketUsage>(t, Prefix(bucket), "", kShards, "usage"));
  Usage sum;
  for (const auto& [key, u] : rows) {
    sum.bytes += u.bytes();
    sum.objects += u.objects();
  }
  return sum;
}

absl::Status Clear(Transaction& t, const std::string& bucket) {
  for (int shard = 0; shard < kShards; ++shard) {
    RETURN_IF_ERROR(t.Delete(Prefix(bucket) + static_cast<char>(shard)));
  }
  return absl::OkStatus();
}

absl::Status CheckQuota(const std::string& bucket, const v1::BucketRecord& b, const Usage& now,
                        const Usage& delta) {
  int64_t max_bytes = static_cast<int64_t>(b.quota_bytes());
  if (max_bytes > 0 && delta.bytes > 0 && now.bytes + delta.bytes > max_bytes) {
    return QuotaExceededError("Bucket " + bucket + " is over its quota: it holds " +
                              Bytes(now.bytes) + " of " + Bytes(max_bytes) +
                              " allowed, and this write needs " + Bytes(delta.bytes) +
                              " more. Nothing was stored.");
  }
  int64_t max_objects = static_cast<int64_t>(b.quota_objects());
  if (max_objects > 0 && delta.objects > 0 && now.objects + delta.objects > max_objects) {
    return QuotaExceededError("Bucket " + bucket + " is over its quota: it holds " +
                              std::to_string(now.objects) + " of " + std::to_string(max_objects) +
                              " objects allowed. Nothing was stored.");
  }
  return absl::OkStatus();
}

}  // namespace mosaic::gateway::meta::usage
