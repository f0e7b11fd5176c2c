#include "server/gateway/meta/tables/access_keys.h"

namespace mosaic::gateway::meta::access_keys {
namespace {
constexpr char kTag = 'a';
std::string Key(const std::string& id) { return std::string(1, kTag) + id; }
}  // namespace

absl::StatusOr<std::optional<v1::AccessKeyRecord>> Get(Transaction& t, const std::string& id,
                                                       std::optional<Transaction::Lock> lock) {
  return GetRow<v1::AccessKeyRecord>(t, Key(id), "access key", lock);
}

absl::Status Put(Transaction& t, const v1::AccessKeyRecord& r) { return PutRow(t, Key(r.id()), r); }

absl::Status Delete(Transaction& t, const std::string& id) { return t.Delete(Key(id)); }

absl::StatusOr<std::vector<v1::AccessKeyRecord>> List(Transaction& t) {
  ASSIGN_OR_RETURN(auto rows, ScanRows<v1::AccessKeyRecord>(t, std::string(1, kTag), "", SIZE_MAX,
                                                            "access key"));
  std::vector<v1::AccessKeyRecord> out;
  out.reserve(rows.size());
  for (auto& row : rows) out.push_back(std::move(row.second));
  return out;
}

}  // namespace mosaic::gateway::meta::access_keys
