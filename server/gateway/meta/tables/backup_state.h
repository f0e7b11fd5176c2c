#pragma once
// The metadata backup's own state: the one row `B` -> BackupState.

#include <optional>
#include <string_view>

#include "proto/mosaic/v1/backup.pb.h"
#include "server/gateway/meta/row.h"

namespace mosaic::gateway::meta::backup_state {

inline constexpr std::string_view kKey = "B";

absl::StatusOr<std::optional<v1::BackupState>> Get(Transaction& t);
absl::Status Put(Transaction& t, const v1::BackupState& state);

}  // namespace mosaic::gateway::meta::backup_state
