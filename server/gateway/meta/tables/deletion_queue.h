#pragma once
// The deletion queue: `d` <sequence u64 BE> -> DeletionRecord (shards to delete on the
// nodes). Sequences are handed out by the store (MetaStore), increasing.

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/meta/row.h"

namespace mosaic::gateway::meta::deletion_queue {

absl::Status Put(Transaction& t, uint64_t seq, const v1::DeletionRecord& r);
// Whether entry `seq` is there, locked.
absl::StatusOr<bool> Lock(Transaction& t, uint64_t seq);
absl::Status Delete(Transaction& t, uint64_t seq);
absl::StatusOr<std::vector<std::pair<uint64_t, v1::DeletionRecord>>> Pending(Transaction& t,
                                                                             size_t limit);
// The number of entries and the highest sequence (0 if none).
struct Census {
  uint64_t count = 0;
  uint64_t last = 0;
};
absl::StatusOr<Census> Count(Transaction& t);

}  // namespace mosaic::gateway::meta::deletion_queue
