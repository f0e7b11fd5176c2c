#include "server/gateway/meta/tables/backup_state.h"

namespace mosaic::gateway::meta::backup_state {

absl::StatusOr<std::optional<v1::BackupState>> Get(Transaction& t) {
  return GetRow<v1::BackupState>(t, kKey, "backup state");
}

absl::Status Put(Transaction& t, const v1::BackupState& state) { return PutRow(t, kKey, state); }

}  // namespace mosaic::gateway::meta::backup_state
