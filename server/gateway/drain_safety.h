#pragma once
// What draining or removing a node does to the data's safety, said before it starts
// (`mosaic node drain|remove`, POST /admin/v1/nodes/ID/drain|remove).
//
// The scan reads every object's and part's manifest and, for each stripe, takes the providers
// of its healthy shards (status.h: unreachable, declared-down and removed nodes' shards are
// missing), moves the shards of the node to leave the way repair will (placement's
// NextCandidate: a provider holding no shard of the stripe first, else the one holding
// fewest), and computes client::ProviderLossesSurvived before and after. The refusal rules:
// another node is unreachable or declared down (its shards may be needed, and one more
// exclusion leaves less room), or fewer providers than k + m would be left to place on (so
// shards double up and the tolerance drops).

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/gateway/status.h"

namespace mosaic::gateway {

class MetaStore;

struct DrainImpact {
  std::string node;
  // Whole-provider losses survived now and once the node's shards moved; nullopt when
  // nothing is stored, -1 when some stripe is (or would be) lost.
  std::optional<int> survives_before;
  std::optional<int> survives_after;
  uint64_t stripes_moved = 0;    // stripes with a shard on the node
  uint64_t stripes_doubled = 0;  // of those, stripes that must put two shards at one provider
  // Providers that could take shards after the change (a node up and active, other than the
  // node leaving).
  std::set<std::string> providers_left;
  std::vector<std::string> unreachable;  // other nodes not up now (unreachable or declared down)
  bool complete = true;                  // false when the scan hit its deadline
};

// Scans `meta` for the impact of moving every shard off `node` onto nodes of
// `usable_providers` (providers with a node up and active, the leaving node excluded), with
// node health from `views` (`ring` names corrupt chunks). Leaves `unreachable` empty (the
// caller knows the nodes). Errors of MetaStore::ListPieces. Blocks; any thread.
[[nodiscard]] absl::StatusOr<DrainImpact> ComputeDrainImpact(
    const MetaStore& meta, const NodeViews& views, const client::KeyRing& ring,
    const std::string& node, const std::set<std::string>& usable_providers,
    std::chrono::steady_clock::time_point deadline);

// Why the change is unsafe under the rules above ("" when it is not), for `shards` = k + m of
// the default profile; `action` is "drain" or "remove".
std::string UnsafeReason(const DrainImpact& impact, int shards, const std::string& action);

// "survives the loss of 2 providers now, 1 after the drain".
std::string ToleranceText(const DrainImpact& impact, const std::string& action);

}  // namespace mosaic::gateway
