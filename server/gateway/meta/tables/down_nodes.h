#pragma once
// Nodes the failure detector declared down, so that a gateway started again (or another
// gateway taking the job over) carries on at once instead of waiting `node_down_after`:
//   `~down/` <node id> -> u64 BE milliseconds since the epoch when it was declared down.

#include <cstdint>
#include <map>
#include <string>

#include "server/gateway/meta/row.h"

namespace mosaic::gateway::meta::down_nodes {

absl::Status Put(Transaction& t, const std::string& node_id, uint64_t declared_ms);
absl::Status Delete(Transaction& t, const std::string& node_id);
absl::StatusOr<std::map<std::string, uint64_t>> List(Transaction& t);

}  // namespace mosaic::gateway::meta::down_nodes
