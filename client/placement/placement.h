#pragma once
// Where the shards of a stripe go: weighted rendezvous hashing over providers (the failure
// domain), then over the nodes of a provider. Pure computation, thread-safe, no I/O.
//
// For a stripe key, every provider gets the score -w / ln(h) where w is the sum of its
// usable nodes' weights and h a hash of (key, provider) mapped into (0, 1); providers are
// ranked by score, and nodes inside a provider the same way by their own weight. So adding
// or removing a node moves only the stripes whose ranking it enters or leaves (about 1/n),
// and the top-ranked provider (and node) is chosen with probability proportional to weight.
//
// The n shards go to n distinct providers when at least n are usable. With fewer providers,
// shard counts per provider differ by at most one (higher-ranked providers get the extra),
// and a provider's shards are spread over its nodes in rank order.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace mosaic::client {

struct NodeSpec {
  std::string id;
  std::string provider;
  std::string site;     // informational for now
  double weight = 1.0;  // > 0; e.g. proportional to offered capacity
};

class Placer {
 public:
  // `nodes` are the nodes eligible for new shards (removed and draining nodes excluded).
  explicit Placer(std::vector<NodeSpec> nodes);

  const std::vector<NodeSpec>& nodes() const { return nodes_; }

  // Indices into nodes() for the n shards of the stripe named `key`, considering only
  // nodes for which `usable(index)` is true. Returns fewer than n entries only when no node
  // is usable (then none).
  std::vector<int> Place(std::string_view key, int n, const std::function<bool(int)>& usable) const;

  // A replacement for shard `slot` of `placement` (whose node failed): a usable node not in
  // `tried`, on the provider holding fewest of the stripe's other shards (rank breaks ties),
  // preferring nodes that hold no shard of the stripe yet. -1 if none is left.
  int NextCandidate(std::string_view key, const std::vector<int>& placement, int slot,
                    const std::vector<int>& tried, const std::function<bool(int)>& usable) const;

 private:
  struct Ranked {
    std::string provider;
    double score = 0;
    std::vector<int> nodes;  // indices into nodes_, best first
  };
  // Usable providers ranked for `key`, each with its usable nodes ranked.
  std::vector<Ranked> Rank(std::string_view key, const std::function<bool(int)>& usable) const;

  std::vector<NodeSpec> nodes_;
};

// How many whole providers can be lost, in the worst case, with at least k of the stripe's
// shards left: the shards' providers are given one per shard (repeats allowed).
int ProviderLossesSurvived(const std::vector<std::string>& shard_providers, int k);

// The hash used for ranking, exposed for tests: 64 bits from (key, name), stable across
// versions and machines (FNV-1a then a SplitMix64 finaliser).
uint64_t PlacementHash(std::string_view key, std::string_view name);

}  // namespace mosaic::client
