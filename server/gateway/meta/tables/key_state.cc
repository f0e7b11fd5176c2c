#include "server/gateway/meta/tables/key_state.h"

namespace mosaic::gateway::meta::key_state {

absl::StatusOr<std::optional<v1::KeyStateRecord>> Get(Transaction& t) {
  return GetRow<v1::KeyStateRecord>(t, kKey, "key state");
}

absl::Status Put(Transaction& t, const v1::KeyStateRecord& state) { return PutRow(t, kKey, state); }

}  // namespace mosaic::gateway::meta::key_state
