#include "server/gateway/drain_safety.h"

#include <algorithm>
#include <map>

#include "client/placement/placement.h"
#include "common/status.h"
#include "server/gateway/meta/meta_store.h"
#include "server/gateway/node_states.h"

namespace mosaic::gateway {
namespace {

void Lower(std::optional<int>& worst, int survives) {
  if (!worst || survives < *worst) worst = survives;
}

// The provider a moved shard goes to: one holding no shard of the stripe, else the one
// holding fewest (NextCandidate's order; the set's order breaks ties). "" when none is usable.
std::string Destination(const std::map<std::string, int>& held,
                        const std::set<std::string>& usable) {
  std::string best;
  int best_count = 0;
  for (const std::string& p : usable) {
    auto it = held.find(p);
    int count = it == held.end() ? 0 : it->second;
    if (best.empty() || count < best_count) {
      best = p;
      best_count = count;
    }
  }
  return best;
}

// Counts one stripe's before and after into `out`.
void ImpactOfStripe(const v1::Manifest& manifest, int stripe, const NodeViews& views,
                    const client::KeyRing& ring, const std::string& node,
                    const std::set<std::string>& usable, DrainImpact& out) {
  const v1::StripePlacement& placement = manifest.stripes(stripe);
  std::vector<int> bad = UnhealthyShards(manifest, stripe, views, ring);
  std::vector<std::string> before, after;
  int moving = 0;
  for (int i = 0; i < placement.nodes_size(); ++i) {
    bool healthy = std::find(bad.begin(), bad.end(), i) == bad.end();
    const std::string& id = placement.nodes(i);
    if (healthy) before.push_back(views.at(id).provider);
    if (id == node) {
      ++moving;
    } else if (healthy) {
      after.push_back(views.at(id).provider);
    }
  }
  const int k = static_cast<int>(manifest.k());
  Lower(out.survives_before, client::ProviderLossesSurvived(before, k));
  if (moving > 0) {
    ++out.stripes_moved;
    // Repair rebuilds from k healthy shards: below that nothing moves.
    bool doubled = false;
    std::map<std::string, int> held;
    for (const std::string& p : after) ++held[p];
    for (int s = 0; s < moving && static_cast<int>(before.size()) >= k; ++s) {
      std::string to = Destination(held, usable);
      if (to.empty()) break;
      doubled = doubled || held[to] > 0;
      ++held[to];
      after.push_back(to);
    }
    if (doubled) ++out.stripes_doubled;
  }
  Lower(out.survives_after, client::ProviderLossesSurvived(after, k));
}

std::string ProvidersText(std::optional<int> survives) {
  if (!survives) return "nothing stored";
  if (*survives < 0) return "some stripes lost";
  if (*survives == 1) return "1 provider";
  return std::to_string(*survives) + " providers";
}

}  // namespace

absl::StatusOr<DrainImpact> ComputeDrainImpact(const MetaStore& meta, const NodeViews& views,
                                               const client::KeyRing& ring, const std::string& node,
                                               const std::set<std::string>& usable_providers,
                                               std::chrono::steady_clock::time_point deadline) {
  DrainImpact out;
  out.node = node;
  out.providers_left = usable_providers;
  ASSIGN_OR_RETURN(out.complete,
                   ForEachPiece(meta, deadline, [&](const std::string&, const v1::Manifest& m) {
                     for (int s = 0; s < m.stripes_size(); ++s) {
                       ImpactOfStripe(m, s, views, ring, node, usable_providers, out);
                     }
                   }));
  return out;
}

std::string UnsafeReason(const DrainImpact& impact, int shards, const std::string& action) {
  std::string why;
  for (const std::string& id : impact.unreachable) {
    why += (why.empty() ? "" : "; ") + ("node " + id + " is unreachable or down");
  }
  if (static_cast<int>(impact.providers_left.size()) < shards) {
    if (!why.empty()) why += "; ";
    why += "only " + std::to_string(impact.providers_left.size()) +
           " providers would be left for " + std::to_string(shards) +
           " shards per stripe, so shards would double up";
  }
  if (why.empty()) return why;
  return "refused to " + action + " " + impact.node + ": " + why + ". The data " +
         ToleranceText(impact, action) + ". Give --force to " + action + " anyway.";
}

std::string ToleranceText(const DrainImpact& impact, const std::string& action) {
  return "survives the loss of " + ProvidersText(impact.survives_before) + " now, " +
         ProvidersText(impact.survives_after) + " after the " + action +
         (impact.stripes_doubled > 0 ? " (" + std::to_string(impact.stripes_doubled) +
                                           " stripes would put two shards at one provider)"
                                     : "");
}

absl::StatusOr<DrainImpact> StatusService::ImpactOfDrain(const std::string& node_id) {
  client::NodePool& pool = pipeline_.pool();
  if (pool.IndexOf(node_id) < 0) {
    return absl::NotFoundError("no node \"" + node_id + "\" in the gateway's node list");
  }
  std::map<std::string, v1::NodeStateRecord> states = states_.States();
  FailureView failures = Failures();
  std::set<std::string> usable;
  std::vector<std::string> unreachable;
  for (int i = 0; i < pool.size(); ++i) {
    const client::NodeClient& n = pool.node(i);
    auto st = states.find(n.id());
    auto state = st == states.end() ? v1::NodeStateRecord::ACTIVE : st->second.state();
    bool up = n.health() == client::NodeHealth::kUp;
    if (n.id() == node_id || state == v1::NodeStateRecord::REMOVED ||
        state == v1::NodeStateRecord::FORGOTTEN)
      continue;
    if (!up) unreachable.push_back(n.id());
    if (up && state == v1::NodeStateRecord::ACTIVE) usable.insert(n.endpoint().spec.provider);
  }
  NodeViews views = CurrentNodeViews(pool, states, failures.declared_down);
  ASSIGN_OR_RETURN(DrainImpact impact,
                   ComputeDrainImpact(meta_, views, pipeline_.ring(), node_id, usable,
                                      std::chrono::steady_clock::now() + options_.scan_bound));
  impact.unreachable = std::move(unreachable);
  return impact;
}

}  // namespace mosaic::gateway
