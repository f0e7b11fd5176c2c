#include "server/gateway/meta/tables/teams.h"

namespace mosaic::gateway::meta::teams {
namespace {
constexpr char kTag = 'T';
std::string Key(const std::string& name) { return std::string(1, kTag) + name; }
}  // namespace

absl::StatusOr<std::optional<v1::TeamRecord>> Get(Transaction& t, const std::string& name,
                                                  std::optional<Transaction::Lock> lock) {
  return GetRow<v1::TeamRecord>(t, Key(name), "team", lock);
}

absl::Status Put(Transaction& t, const v1::TeamRecord& r) { return PutRow(t, Key(r.name()), r); }

absl::Status Delete(Transaction& t, const std::string& name) { return t.Delete(Key(name)); }

absl::StatusOr<std::vector<v1::TeamRecord>> List(Transaction& t) {
  ASSIGN_OR_RETURN(auto rows,
                   ScanRows<v1::TeamRecord>(t, std::string(1, kTag), "", SIZE_MAX, "team"));
  std::vector<v1::TeamRecord> out;
  out.reserve(rows.size());
  for (auto& row : rows) out.push_back(std::move(row.second));
  return out;
}

}  // namespace mosaic::gateway::meta::teams
