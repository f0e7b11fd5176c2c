#pragma once
// The repair queue: stripes whose shards must be rebuilt or moved, in order of margin.
//   `q` <margin u32 BE> <stripe id>  -> RepairRecord   (stripe id = stripe u64 BE, piece id)
//   `Q` <stripe id>                  -> u32 BE margin of the stripe's `q` row
// The `Q` row is the stripe's lock: every change to a stripe's entry locks it first.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/meta/row.h"

namespace mosaic::gateway::meta::repair_queue {

// Queues the stripe, merging with its entry if there is one (shards united, smaller margin
// and earlier time kept); returns whether the stripe was not queued before.
absl::StatusOr<bool> Queue(Transaction& t, const v1::RepairRecord& record);
// Up to `limit` entries, lowest margin first.
absl::StatusOr<std::vector<v1::RepairRecord>> Pending(Transaction& t, size_t limit);
// Removes the stripe's entry, putting `retry` back in its place if given; returns whether
// an entry was removed for good (false: none was queued, or it was put back).
absl::StatusOr<bool> Finish(Transaction& t, const std::string& piece_id, uint64_t stripe,
                            const std::optional<v1::RepairRecord>& retry);
absl::StatusOr<uint64_t> Count(Transaction& t);

}  // namespace mosaic::gateway::meta::repair_queue
