#pragma once
// The scrubs' recent findings: `~scrub/` <time_ms, 8 bytes big-endian> <a per-process
// counter, 4 bytes> <4 random bytes> -> ScrubFindingRecord. Bounded: Trim keeps the newest
// rows only. In the metadata (both backends), so the findings outlive a gateway restart and
// are backed up with it.

#include <cstddef>
#include <vector>

#include "proto/mosaic/v1/scrub.pb.h"
#include "server/gateway/meta/row.h"

namespace mosaic::gateway::meta::scrub_findings {

// Appends `r` under its time_ms (rows of one millisecond keep their order; random bytes keep
// several gateways' rows apart).
[[nodiscard]] absl::Status Append(Transaction& t, const v1::ScrubFindingRecord& r);
// Deletes all but the newest `keep` rows; returns how many it deleted.
[[nodiscard]] absl::StatusOr<size_t> Trim(Transaction& t, size_t keep);
// The newest `limit` rows, oldest first.
[[nodiscard]] absl::StatusOr<std::vector<v1::ScrubFindingRecord>> Newest(Transaction& t,
                                                                         size_t limit);

}  // namespace mosaic::gateway::meta::scrub_findings
