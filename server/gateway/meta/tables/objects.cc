#include "server/gateway/meta/tables/objects.h"

#include <algorithm>

#include "server/gateway/meta/tables/pieces.h"

namespace mosaic::gateway::meta::objects {
namespace {
constexpr char kTag = 'o';
std::string Prefix(const std::string& bucket) {
  std::string k(1, kTag);
  k += bucket;
  k.push_back('\0');
  return k;
}
std::string Key(const std::string& bucket, const std::string& key) { return Prefix(bucket) + key; }
}  // namespace

absl::StatusOr<std::optional<v1::ObjectRecord>> Get(Transaction& t, const std::string& bucket,
                                                    const std::string& key,
                                                    std::optional<Transaction::Lock> lock) {
  return GetRow<v1::ObjectRecord>(t, Key(bucket, key), "object", lock);
}

absl::Status Put(Transaction& t, const std::string& bucket, const std::string& key,
                 const v1::ObjectRecord& record) {
  return t.Put(Key(bucket, key), pieces::Stored(record));
}

absl::Status Delete(Transaction& t, const std::string& bucket, const std::string& key) {
  return t.Delete(Key(bucket, key));
}

absl::StatusOr<std::vector<ObjectEntry>> List(Transaction& t, const std::string& bucket,
                                              const std::string& prefix, const std::string& start,
                                              size_t limit) {
  std::string base = Prefix(bucket);
  ASSIGN_OR_RETURN(
      auto rows, ScanRows<v1::ObjectRecord>(t, base + prefix, base + std::max(prefix, start), limit,
                                            "object"));
  std::vector<ObjectEntry> out;
  out.reserve(rows.size());
  for (auto& [k, record] : rows) out.push_back({k.substr(base.size()), std::move(record)});
  return out;
}

}  // namespace mosaic::gateway::meta::objects
