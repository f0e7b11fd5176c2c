#include "client/placement/placement.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace mosaic::client {
namespace {

// Rendezvous score: -w / ln(u) with u uniform in (0, 1). The largest wins; for one draw the
// winner is chosen with probability proportional to its weight.
double Score(std::string_view key, std::string_view name, double weight) {
  uint64_t h = PlacementHash(key, name);
  double u = (static_cast<double>(h >> 11) + 0.5) / 9007199254740992.0;  // (0, 1)
  return -weight / std::log(u);
}

}  // namespace

uint64_t PlacementHash(std::string_view key, std::string_view name) {
  uint64_t h = 14695981039346656037ull;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
  };
  mix(key);
  h ^= 0xff;  // separator: ("ab","c") and ("a","bc") differ
  h *= 1099511628211ull;
  mix(name);
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

Placer::Placer(std::vector<NodeSpec> nodes) : nodes_(std::move(nodes)) {}

std::vector<Placer::Ranked> Placer::Rank(std::string_view key,
                                         const std::function<bool(int)>& usable) const {
  std::map<std::string, Ranked> by_provider;
  std::vector<double> node_score(nodes_.size(), 0);
  for (int i = 0; i < static_cast<int>(nodes_.size()); ++i) {
    if (!usable(i) || nodes_[i].weight <= 0) continue;
    Ranked& r = by_provider[nodes_[i].provider];
    r.provider = nodes_[i].provider;
    r.score += nodes_[i].weight;  // sum of weights, turned into a score below
    r.nodes.push_back(i);
    node_score[i] = Score(key, nodes_[i].id, nodes_[i].weight);
  }
  std::vector<Ranked> ranked;
  for (auto& [name, r] : by_provider) {
    r.score = Score(key, "provider/" + name, r.score);
    std::sort(r.nodes.begin(), r.nodes.end(),
              [&](int a, int b) { return node_score[a] > node_score[b]; });
    ranked.push_back(std::move(r));
  }
  std::sort(ranked.begin(), ranked.end(),
            [](const Ranked& a, const Ranked& b) { return a.score > b.score; });
  return ranked;
}

std::vector<int> Placer::Place(std::string_view key, int n,
                               const std::function<bool(int)>& usable) const {
  std::vector<Ranked> ranked = Rank(key, usable);
  std::vector<int> out;
  if (ranked.empty() || n <= 0) return out;
  int providers = static_cast<int>(ranked.size());
  int used = std::min(providers, n);
  // Shards per provider: as even as possible, the extra ones to the best-ranked.
  for (int p = 0; p < used; ++p) {
    int count = n / used + (p < n % used ? 1 : 0);
    const std::vector<int>& nodes = ranked[p].nodes;
    for (int s = 0; s < count; ++s) out.push_back(nodes[s % nodes.size()]);
  }
  return out;
}

int Placer::NextCandidate(std::string_view key, const std::vector<int>& placement, int slot,
                          const std::vector<int>& tried,
                          const std::function<bool(int)>& usable) const {
  auto in = [](const std::vector<int>& v, int node) {
    return std::find(v.begin(), v.end(), node) != v.end();
  };
  std::map<std::string, int> shards_on;  // provider -> shards of this stripe, except `slot`
  for (int s = 0; s < static_cast<int>(placement.size()); ++s) {
    if (s != slot && placement[s] >= 0) shards_on[nodes_[placement[s]].provider]++;
  }
  // First a node holding no shard of the stripe, on the least loaded provider (rank breaks
  // ties); failing that, a node that already holds one (two shards on one node still beat
  // no write at all).
  std::vector<Ranked> ranked = Rank(key, usable);
  for (bool allow_shared_node : {false, true}) {
    int best = -1, best_load = 0;
    for (const Ranked& r : ranked) {
      int load = shards_on.contains(r.provider) ? shards_on[r.provider] : 0;
      for (int node : r.nodes) {
        if (in(tried, node)) continue;
        if (in(placement, node) && !allow_shared_node) continue;
        if (best < 0 || load < best_load) {
          best = node;
          best_load = load;
        }
        break;  // the provider's best candidate stands for it
      }
    }
    if (best >= 0) return best;
  }
  return -1;
}

int ProviderLossesSurvived(const std::vector<std::string>& shard_providers, int k) {
  std::map<std::string, int> count;
  for (const std::string& p : shard_providers) count[p]++;
  std::vector<int> sizes;
  for (const auto& [p, c] : count) sizes.push_back(c);
  std::sort(sizes.rbegin(), sizes.rend());
  int left = static_cast<int>(shard_providers.size());
  if (left < k) return -1;  // already unreadable
  int losses = 0;
  for (int c : sizes) {
    if (left - c < k) break;
    left -= c;
    ++losses;
  }
  return losses;
}

}  // namespace mosaic::client
