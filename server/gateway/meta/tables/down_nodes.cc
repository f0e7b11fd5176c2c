#include "server/gateway/meta/tables/down_nodes.h"

#include "common/bytes.h"

namespace mosaic::gateway::meta::down_nodes {
namespace {
constexpr std::string_view kPrefix = "~down/";
}  // namespace

absl::Status Put(Transaction& t, const std::string& node_id, uint64_t declared_ms) {
  std::string value;
  AppendBE64(value, declared_ms);
  return t.Put(std::string(kPrefix) + node_id, value);
}

absl::Status Delete(Transaction& t, const std::string& node_id) {
  return t.Delete(std::string(kPrefix) + node_id);
}

absl::StatusOr<std::map<std::string, uint64_t>> List(Transaction& t) {
  std::map<std::string, uint64_t> out;
  RETURN_IF_ERROR(t.Scan(std::string(kPrefix), "",
                         [&](std::string_view key, std::string_view value) -> absl::StatusOr<bool> {
                           if (value.size() != 8) {
                             return absl::DataLossError("metadata: malformed down-node row");
                           }
                           out.emplace(std::string(key.substr(kPrefix.size())),
                                       LoadBE64(value.data()));
                           return true;
                         }));
  return out;
}

}  // namespace mosaic::gateway::meta::down_nodes
