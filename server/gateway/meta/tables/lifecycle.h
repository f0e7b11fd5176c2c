#pragma once
// The lifecycle job's cursor (jobs/lifecycle.h): the one row `L` -> LifecycleCursor.

#include <optional>
#include <string_view>

#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/meta/row.h"

namespace mosaic::gateway::meta::lifecycle {

inline constexpr std::string_view kKey = "L";

absl::StatusOr<std::optional<v1::LifecycleCursor>> Get(Transaction& t);
absl::Status Put(Transaction& t, const v1::LifecycleCursor& cursor);

}  // namespace mosaic::gateway::meta::lifecycle
