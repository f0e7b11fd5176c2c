#pragma once
// Table of node states (drain / remove / added at runtime): `n` <node id> -> NodeStateRecord.

#include <map>
#include <string>

#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/meta/row.h"

namespace mosaic::gateway::meta::node_states {

absl::Status Put(Transaction& t, const std::string& node_id, const v1::NodeStateRecord& r);
absl::StatusOr<std::map<std::string, v1::NodeStateRecord>> List(Transaction& t);

}  // namespace mosaic::gateway::meta::node_states
