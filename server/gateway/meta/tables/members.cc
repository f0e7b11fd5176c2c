#include "server/gateway/meta/tables/members.h"

namespace mosaic::gateway::meta::members {
namespace {
constexpr char kTag = 'M';
std::string Key(const std::string& name) { return std::string(1, kTag) + name; }
}  // namespace

absl::StatusOr<std::optional<v1::MemberRecord>> Get(Transaction& t, const std::string& name,
                                                    std::optional<Transaction::Lock> lock) {
  return GetRow<v1::MemberRecord>(t, Key(name), "member", lock);
}

absl::Status Put(Transaction& t, const v1::MemberRecord& r) { return PutRow(t, Key(r.name()), r); }

absl::Status Delete(Transaction& t, const std::string& name) { return t.Delete(Key(name)); }

absl::StatusOr<std::vector<v1::MemberRecord>> List(Transaction& t) {
  ASSIGN_OR_RETURN(auto rows,
                   ScanRows<v1::MemberRecord>(t, std::string(1, kTag), "", SIZE_MAX, "member"));
  std::vector<v1::MemberRecord> out;
  out.reserve(rows.size());
  for (auto& row : rows) out.push_back(std::move(row.second));
  return out;
}

}  // namespace mosaic::gateway::meta::members
