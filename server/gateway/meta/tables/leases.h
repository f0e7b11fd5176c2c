#pragma once
// Background jobs' leases (meta/lease.h): `~lease/` <job> -> heartbeat count (u64 BE) and
// the holder's name.

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "server/gateway/meta/entries.h"
#include "server/gateway/meta/row.h"

namespace mosaic::gateway::meta::leases {

// The job's lease; with `lock`, its row locked exclusively (existing or not).
absl::StatusOr<std::optional<LeaseEntry>> Get(Transaction& t, std::string_view job, bool lock);
absl::Status Put(Transaction& t, std::string_view job, const LeaseEntry& lease);
absl::StatusOr<std::map<std::string, LeaseEntry>> List(Transaction& t);

}  // namespace mosaic::gateway::meta::leases
