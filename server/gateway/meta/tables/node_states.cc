#include "server/gateway/meta/tables/node_states.h"

namespace mosaic::gateway::meta::node_states {
namespace {
constexpr char kTag = 'n';
}  // namespace

absl::Status Put(Transaction& t, const std::string& node_id, const v1::NodeStateRecord& r) {
  return PutRow(t, std::string(1, kTag) + node_id, r);
}

absl::StatusOr<std::map<std::string, v1::NodeStateRecord>> List(Transaction& t) {
  ASSIGN_OR_RETURN(auto rows, ScanRows<v1::NodeStateRecord>(t, std::string(1, kTag), "", SIZE_MAX,
                                                            "node state"));
  std::map<std::string, v1::NodeStateRecord> out;
  for (auto& [key, record] : rows) out.emplace(key.substr(1), std::move(record));
  return out;
}

}  // namespace mosaic::gateway::meta::node_states
