#pragma once
// Table of console sessions: `S` <SHA-256 hex of the session token> -> SessionRecord
// (issue 15). The token itself is never stored.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/meta/row.h"

namespace mosaic::gateway::meta::sessions {

absl::StatusOr<std::optional<v1::SessionRecord>> Get(Transaction& t, const std::string& token_hash);
absl::Status Put(Transaction& t, const std::string& token_hash, const v1::SessionRecord& r);
absl::Status Delete(Transaction& t, const std::string& token_hash);
// Every session with its token hash, in hash order.
absl::StatusOr<std::vector<std::pair<std::string, v1::SessionRecord>>> List(Transaction& t);

}  // namespace mosaic::gateway::meta::sessions
