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
// Ends the work on `taken` (an entry as Pending gave it): its shards leave the stripe's entry,
// shards queued since stay, and `retry` (if given) is put back merged with them. Returns
// whether the stripe's entry was removed for good (false: none was queued, or one remains).
absl::StatusOr<bool> Finish(Transaction& t, const v1::RepairRecord& taken,
                            const std::optional<v1::RepairRecord>& retry);
// Removes `shard` from the stripe's entry (the entry goes with its last shard): the shard
// was re-placed. Returns whether the entry was removed for good.
absl::StatusOr<bool> DropShard(Transaction& t, const std::string& piece_id, uint64_t stripe,
                               uint32_t shard);
absl::StatusOr<uint64_t> Count(Transaction& t);

}  // namespace mosaic::gateway::meta::repair_queue
