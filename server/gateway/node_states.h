#pragma once
// Node states: `mosaic node drain|remove|undrain ID` (POST /admin/v1/nodes/ID/drain|remove|
// activate). A DRAINING node keeps serving reads but gets no new shards, and every stripe
// with a shard on it is queued for repair (reason "drain"), so the repair job moves its
// shards to other providers. A REMOVED node is treated the same way and its shards count as
// missing; it is never chosen again (its state persists in the metadata and is applied at
// gateway start). Undraining a DRAINING node makes it ACTIVE again; the entries already
// queued still move their shards (harmless: placement stays valid).
//
// Stripes written while a node was being excluded (a writer that placed a shard on it just
// before) are caught by a sweeper: while the repair queue is empty and a draining or removed
// node still holds shards, it queues them again; it stops sweeping a node once a sweep
// started a minute after the change finds nothing on it. The sweeper is a Worker
// (common/worker.h) named "node states": a sweep every 30 s, and at once when woken.

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "client/pipeline/pipeline.h"
#include "common/worker.h"
#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/status.h"

namespace mosaic::gateway {

class MetaStore;

struct QueuedStripes {
  uint64_t stripes = 0;                            // stripes queued (or merged into the queue)
  std::map<std::string, uint64_t> shards_by_node;  // shards found on each target node
};

// Queues for repair every stripe of `meta` with a shard on one of `targets` (node id ->
// reason), with margin = m - shards unhealthy under `views` (at least 0). Blocks; errors of
// the metadata store.
[[nodiscard]] absl::StatusOr<QueuedStripes> QueueStripesOn(
    MetaStore& meta, const std::map<std::string, std::string>& targets, const NodeViews& views,
    const client::KeyRing& ring);

const char* NodeStateName(v1::NodeStateRecord::State state);  // "active", "draining", …

// What forgetting a node (`mosaic node forget`) gives up: the shards manifests still place on
// it, their stripes, and those of them left with fewer than k healthy shards elsewhere under
// `views` (lost once the node is forgotten, if they are not already).
struct ForgetImpact {
  uint64_t shards = 0;
  uint64_t stripes = 0;
  uint64_t stripes_lost = 0;
};
[[nodiscard]] absl::StatusOr<ForgetImpact> ImpactOfForget(MetaStore& meta,
                                                          const std::string& node_id,
                                                          const NodeViews& views,
                                                          const client::KeyRing& ring);
// Whether a node in `state` (nullptr: no state stored) with `impact` may be forgotten: only a
// removed node, or one that is not in the node list any more (dropped from the config) but
// that stripes still name. INVALID_ARGUMENT for a listed node that is not removed; NOT_FOUND
// for a node nobody knows; FAILED_PRECONDITION (the reason, what would be lost) when it still
// holds shards and `force` is false.
[[nodiscard]] absl::Status ForgetRefusal(const std::string& node_id,
                                         const v1::NodeStateRecord* state, bool in_node_list,
                                         const ForgetImpact& impact, bool force);

// The associated data a runtime-added node's token is sealed with (NodeEndpointRecord).
std::string NodeTokenAad(const std::string& node_id);

// Provider spread: queues for repair (reason "spread") the shards of stripes that sit on a
// provider holding another shard of the same stripe while a provider with a usable node holds
// none of it, at most one shard per such free provider. This happens after repairs made
// while too few providers were up (two shards had to share one), once a provider is added or
// comes back: moving them restores the number of provider losses the data survives.
// `provider_of` gives the provider of every node id known; `usable_providers` those with a
// node that may get new shards. Blocks for a scan of the pieces.
[[nodiscard]] absl::StatusOr<uint64_t> QueueSpreadStripes(
    MetaStore& meta, const std::map<std::string, std::string>& provider_of,
    const std::set<std::string>& usable_providers);

class NodeStates final : public Worker {
 public:
  // Borrows both; they must outlive this.
  NodeStates(MetaStore& meta, client::Pipeline& pipeline);

  // Loads the stored states and excludes draining and removed nodes from placement. The
  // sweeper's first step queues their stripes again (resumable after a crash in the middle
  // of a drain request). Errors of the metadata store.
  [[nodiscard]] absl::Status Start();
  // One sweep and a spread scan (Spread); then idle.
  absl::StatusOr<WorkResult> Step() override;

  std::map<std::string, v1::NodeStateRecord> States() const;

  struct Change {
    v1::NodeStateRecord record;  // the node's state now
    uint64_t stripes_queued = 0;
  };
  // Sets a node's state (the record is written before its stripes are queued). NOT_FOUND if
  // `node_id` is not in the node list; FAILED_PRECONDITION to drain or activate a removed
  // node. Setting the state a node has already queues its stripes again. Blocks for a scan
  // of the metadata; any thread (changes are serialised).
  [[nodiscard]] absl::StatusOr<Change> Set(const std::string& node_id,
                                           v1::NodeStateRecord::State state);

  // Adds a node at runtime (`mosaic node add`): checks the endpoint (id, provider, address,
  // weight, TLS or an explicit plaintext), asks the node for its info with the token (the
  // node must answer: FAILED_PRECONDITION with its error otherwise), stores the endpoint
  // (token sealed) and adds it to the pipeline, where new stripes may use it at once. Then
  // the stripes that share a provider are queued to move onto it (QueueSpreadStripes).
  // ALREADY_EXISTS for an id in the node list; INVALID_ARGUMENT for a bad endpoint.
  [[nodiscard]] absl::StatusOr<Change> Add(client::NodeEndpoint endpoint);

  // Forgets a removed node (`mosaic node forget`): stores it as FORGOTTEN, so that status,
  // metrics and the next start leave it out (the CLI deletes it from the config file). The
  // impact is computed first; ForgetRefusal's errors when refused (nothing changes then).
  // Forgetting a forgotten node again succeeds and changes nothing. Blocks for a scan of the
  // metadata; any thread.
  [[nodiscard]] absl::StatusOr<ForgetImpact> Forget(const std::string& node_id, bool force);

  // The endpoints of nodes added at runtime, stored in `meta`, for the gateway's start (the
  // pool is built before NodeStates): tokens unsealed with `ring`. DATA_LOSS if a token does
  // not open (another key).
  [[nodiscard]] static absl::StatusOr<std::vector<client::NodeEndpoint>> AddedEndpoints(
      const MetaStore& meta, const client::KeyRing& ring);

 private:
  void ApplyExclusions();  // mu_ held
  void SweepOnce(bool first);
  // Runs QueueSpreadStripes over the providers with a usable node that has room (quota and
  // disk): when asked by Add, when more providers can take shards than at the last run, and
  // at every sweep while the repair queue is empty. So a stripe that had to put two shards at
  // one provider (too few providers, a full node, a drain) moves back as soon as a provider
  // can take a shard (added, back, quota raised), without a restart. change_mu_ not held.
  void Spread(bool force);

  MetaStore& meta_;
  client::Pipeline& pipeline_;
  mutable std::mutex mu_;
  std::map<std::string, v1::NodeStateRecord> states_;
  std::set<std::string> swept_clean_;  // nodes the sweeper is done with
  size_t spread_providers_ = 0;        // usable providers at the last spread scan
  bool spread_now_ = false;            // Add asks the sweeper for a spread scan
  std::mutex change_mu_;               // serialises Set() and sweeps
  bool first_sweep_ = true;            // the sweeper's thread only
};

}  // namespace mosaic::gateway
