#include "server/gateway/meta/tables/sessions.h"

namespace mosaic::gateway::meta::sessions {
namespace {
constexpr char kTag = 'S';
std::string Key(const std::string& hash) { return std::string(1, kTag) + hash; }
}  // namespace

absl::StatusOr<std::optional<v1::SessionRecord>> Get(Transaction& t,
                                                     const std::string& token_hash) {
  return GetRow<v1::SessionRecord>(t, Key(token_hash), "session");
}

absl::Status Put(Transaction& t, const std::string& token_hash, const v1::SessionRecord& r) {
  return PutRow(t, Key(token_hash), r);
}

absl::Status Delete(Transaction& t, const std::string& token_hash) {
  return t.Delete(Key(token_hash));
}

absl::StatusOr<std::vector<std::pair<std::string, v1::SessionRecord>>> List(Transaction& t) {
  ASSIGN_OR_RETURN(auto rows,
                   ScanRows<v1::SessionRecord>(t, std::string(1, kTag), "", SIZE_MAX, "session"));
  for (auto& [key, record] : rows) key.erase(0, 1);
  return rows;
}

}  // namespace mosaic::gateway::meta::sessions
