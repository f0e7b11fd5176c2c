#include "server/gateway/meta/tables/lifecycle.h"

namespace mosaic::gateway::meta::lifecycle {

absl::StatusOr<std::optional<v1::LifecycleCursor>> Get(Transaction& t) {
  return GetRow<v1::LifecycleCursor>(t, kKey, "lifecycle cursor");
}

absl::Status Put(Transaction& t, const v1::LifecycleCursor& cursor) {
  return PutRow(t, kKey, cursor);
}

}  // namespace mosaic::gateway::meta::lifecycle
