#pragma once
// The lifecycle job's cursor (jobs/lifecycle.h): the one row `~lifecycle` -> LifecycleCursor
// (not `L`: the audit log's rows start with it).

#include <optional>
#include <string_view>

#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/meta/row.h"

namespace mosaic::gateway::meta::lifecycle {

inline constexpr std::string_view kKey = "~lifecycle";

absl::StatusOr<std::optional<v1::LifecycleCursor>> Get(Transaction& t);
absl::Status Put(Transaction& t, const v1::LifecycleCursor& cursor);

}  // namespace mosaic::gateway::meta::lifecycle
