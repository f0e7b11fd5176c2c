#include "server/gateway/meta/tables/buckets.h"

namespace mosaic::gateway::meta::buckets {
namespace {
constexpr char kTag = 'b';
}  // namespace

std::string Key(const std::string& name) { return std::string(1, kTag) + name; }

absl::StatusOr<std::optional<v1::BucketRecord>> Get(Transaction& t, const std::string& name,
                                                    std::optional<Transaction::Lock> lock) {
  return GetRow<v1::BucketRecord>(t, Key(name), "bucket", lock);
}

absl::Status Put(Transaction& t, const std::string& name, const v1::BucketRecord& r) {
  return PutRow(t, Key(name), r);
}

absl::Status Delete(Transaction& t, const std::string& name) { return t.Delete(Key(name)); }

absl::StatusOr<std::vector<std::pair<std::string, v1::BucketRecord>>> List(Transaction& t) {
  ASSIGN_OR_RETURN(auto rows,
                   ScanRows<v1::BucketRecord>(t, std::string(1, kTag), "", SIZE_MAX, "bucket"));
  for (auto& [key, record] : rows) key.erase(0, 1);
  return rows;
}

}  // namespace mosaic::gateway::meta::buckets
