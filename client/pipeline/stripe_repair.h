#pragma once
// Repair of one stripe: re-creates chosen shards of a stored stripe and puts them on other
// nodes. Used by the gateway's repairer (server/gateway/jobs/repairer.h) for lost shards
// (dead node, failed scrub or read) and for shards that must move (a draining node).
//
// The stripe's shards are fetched from nodes that are not avoided (the shards to re-place
// too: a draining node still answers, and its verified shard is then used as any other
// source): the first k of them in shard order, and the others only when fewer than k of
// those verify (issue 14: each source costs a node read and its bytes through gRPC). At
// least k must verify, and RebuildShards re-creates the wanted shards byte-identical to the
// ones first written. Each goes to a node chosen by
// Placer::NextCandidate (fewest shards of the stripe on its provider first, never an avoided
// node or one that already holds a shard of the stripe while another node is usable);
// a node that refuses the put is replaced by the next candidate.
//
// Memory: one stripe's sealed shards plus the rebuilt ones, per call.
// Threads: any thread may call RepairStripe; it blocks on the nodes (gRPC callbacks do the
// I/O), so never call it on a gRPC or HTTP I/O thread.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "client/pipeline/pipeline.h"

namespace mosaic::client {

// The outcome for one shard to re-place.
struct ReplacedShard {
  int shard_index = 0;
  // OK: the shard is now stored on `node_id` as well (the caller updates the metadata and
  // then deletes the old copy). UNAVAILABLE if no node took it.
  absl::Status status;
  std::string node_id;
};

struct StripeRepairResult {
  // OK when the stripe could be read (some shards may still have failed to be put: see
  // `shards`); UNAVAILABLE if fewer than k shards verified; INVALID_ARGUMENT for a bad
  // stripe or shard index; DATA_LOSS / FAILED_PRECONDITION if the data key does not unwrap.
  absl::Status status;
  std::vector<ReplacedShard> shards;  // one per shard asked for, in the order asked
  std::vector<BadShard> faults;       // source shards found corrupt or missing
  uint64_t bytes_written = 0;         // sealed bytes put on nodes
};

// Re-creates shards `shards` of stripe `stripe` of `manifest` and stores each on a new node.
// `avoid(node_id)` is true for nodes that must neither be read from nor written to (down,
// removed); `no_new_shards(node_id)` (may be null) for nodes that may be read but get no new
// shard (draining). Blocks until done (each node call is bounded by the pipeline's
// stripe_timeout).
StripeRepairResult RepairStripe(Pipeline& pipeline, const ObjectManifest& manifest, uint64_t stripe,
                                const std::vector<int>& shards,
                                const std::function<bool(const std::string&)>& avoid,
                                const std::function<bool(const std::string&)>& no_new_shards);

}  // namespace mosaic::client
