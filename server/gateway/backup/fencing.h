#pragma once
// Fencing of old gateways (issue 20; docs/architecture.md, "Fencing"). The group's gateway
// generation lives in its metadata (BackupState.fencing_generation), so gateways sharing one
// PostgreSQL database share it. Every call to a node carries it (NodePool::SetGeneration); a
// node refuses writes and deletes of an older generation of the same tenant
// (server/node/fences.h). A restore takes a new generation, above the metadata's and every
// node's, at every node: the gateway the backup came from, if it comes back, can read but
// no longer write or delete.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/rpc/node_pool.h"
#include "server/gateway/meta/meta_store.h"

namespace mosaic::gateway {

// The generation in `store` (0 if none was ever taken). The store's errors.
[[nodiscard]] absl::StatusOr<uint64_t> FencingGeneration(const MetaStore& store);

struct FenceReport {
  uint64_t generation = 0;            // taken
  uint64_t previous = 0;              // the highest before: metadata's or any node's
  int nodes = 0;                      // in the pool
  int fenced = 0;                     // nodes that recorded it
  std::vector<std::string> failures;  // "node: error" (they record it at the first write)
};

// Asks every node of `pool` for its highest generation, records one above that and the
// store's in `store`, makes the pool's calls carry it, and raises every node to it. Blocks
// (the nodes are asked in parallel, each within the pool's call timeout). Errors: the
// store's; nodes that fail are reported, not errors.
[[nodiscard]] absl::StatusOr<FenceReport> TakeNewGeneration(MetaStore& store,
                                                            client::NodePool& pool);

}  // namespace mosaic::gateway
