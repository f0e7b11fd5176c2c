#pragma once
// The master key the metadata is under: the one row `K` -> KeyStateRecord
// (server/gateway/key_rotation.h).

#include <optional>
#include <string_view>

#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/meta/row.h"

namespace mosaic::gateway::meta::key_state {

inline constexpr std::string_view kKey = "K";

absl::StatusOr<std::optional<v1::KeyStateRecord>> Get(Transaction& t);
absl::Status Put(Transaction& t, const v1::KeyStateRecord& state);

}  // namespace mosaic::gateway::meta::key_state
