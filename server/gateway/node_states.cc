#include "server/gateway/node_states.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <optional>

#include "client/crypto/metadata_seal.h"
#include "common/clock.h"
#include "common/status.h"
#include "server/gateway/meta/meta_store.h"

namespace mosaic::gateway {
namespace {

constexpr size_t kPiecesPerPage = 1000;
// Writers that placed a shard on a node just before it was excluded commit within their
// stripe timeout; a sweep that starts this long after the change sees their stripes.
constexpr int64_t kSettleMs = 60000;
constexpr auto kSweepInterval = std::chrono::seconds(30);

const char* ReasonOf(v1::NodeStateRecord::State state) {
  return state == v1::NodeStateRecord::DRAINING ? "drain" : "removed";
}

// Queues one stripe's shards that sit on `targets`, one entry per reason (the store merges).
absl::Status QueueStripe(MetaStore& meta, const std::string& piece_id, const v1::Manifest& manifest,
                         int stripe, const std::map<std::string, std::string>& targets,
                         const NodeViews& views, const client::KeyRing& ring, QueuedStripes& out) {
  std::map<std::string, std::vector<uint32_t>> by_reason;
  const v1::StripePlacement& placement = manifest.stripes(stripe);
  for (int i = 0; i < placement.nodes_size(); ++i) {
    auto target = targets.find(placement.nodes(i));
    if (target == targets.end()) continue;
    by_reason[target->second].push_back(static_cast<uint32_t>(i));
    ++out.shards_by_node[target->first];
  }
  if (by_reason.empty()) return absl::OkStatus();
  int unhealthy = static_cast<int>(UnhealthyShards(manifest, stripe, views, ring).size());
  uint32_t margin = static_cast<uint32_t>(std::max(0, static_cast<int>(manifest.m()) - unhealthy));
  for (const auto& [reason, shards] : by_reason) {
    v1::RepairRecord record;
    record.set_piece_id(piece_id);
    record.set_stripe(static_cast<uint64_t>(stripe));
    for (uint32_t shard : shards) record.add_shards(shard);
    record.set_reason(reason);
    record.set_queued_ms(UnixNowMs());
    record.set_margin(margin);
    RETURN_IF_ERROR(meta.QueueRepair(record));
  }
  ++out.stripes;
  return absl::OkStatus();
}

// A node may take a spread shard when it has room: below its quota and its disk's free space
// by this margin (unknown figures, 0, do not stop it).
constexpr uint64_t kSpreadRoomBytes = uint64_t{64} << 20;

bool HasRoom(const client::NodeStatus& st) {
  bool under_quota = st.quota_bytes == 0 || st.used_bytes + kSpreadRoomBytes <= st.quota_bytes;
  bool disk_free = st.capacity_bytes == 0 || st.free_bytes >= kSpreadRoomBytes;
  return under_quota && disk_free;
}

// A node's sealed token is bound to its id.
bool ValidName(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

absl::Status CheckEndpoint(const client::NodeEndpoint& e) {
  if (!ValidName(e.spec.id)) {
    return absl::InvalidArgumentError("node id \"" + e.spec.id +
                                      "\": 1 to 64 letters, digits, '-', '_' or '.'");
  }
  if (!ValidName(e.spec.provider)) {
    return absl::InvalidArgumentError("provider \"" + e.spec.provider +
                                      "\": 1 to 64 letters, digits, '-', '_' or '.'");
  }
  if (e.address.empty() || e.address.find(':') == std::string::npos) {
    return absl::InvalidArgumentError("address \"" + e.address + "\": expected host:port");
  }
  if (!(e.spec.weight > 0) || !std::isfinite(e.spec.weight)) {
    return absl::InvalidArgumentError("weight must be a positive number");
  }
  if (e.token.empty()) return absl::InvalidArgumentError("the node's tenant token is required");
  if (!e.plaintext && e.tls_ca_pem.empty()) {
    return absl::InvalidArgumentError(
        "give the node's certificate (or its CA) to check it, or say plaintext explicitly");
  }
  return absl::OkStatus();
}

}  // namespace

std::string NodeTokenAad(const std::string& node_id) { return "node-token/" + node_id; }

const char* NodeStateName(v1::NodeStateRecord::State state) {
  switch (state) {
    case v1::NodeStateRecord::DRAINING:
      return "draining";
    case v1::NodeStateRecord::REMOVED:
      return "removed";
    case v1::NodeStateRecord::FORGOTTEN:
      return "forgotten";
    default:
      return "active";
  }
}

absl::StatusOr<QueuedStripes> QueueStripesOn(MetaStore& meta,
                                             const std::map<std::string, std::string>& targets,
                                             const NodeViews& views, const client::KeyRing& ring) {
  QueuedStripes out;
  if (targets.empty()) return out;
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(auto page, meta.ListPieces(after, kPiecesPerPage));
    for (const auto& [id, piece] : page) {
      for (int s = 0; s < piece.manifest().stripes_size(); ++s) {
        RETURN_IF_ERROR(QueueStripe(meta, id, piece.manifest(), s, targets, views, ring, out));
      }
    }
    if (page.size() < kPiecesPerPage) break;
    after = page.back().first;
  }
  return out;
}

absl::StatusOr<ForgetImpact> ImpactOfForget(MetaStore& meta, const std::string& node_id,
                                            const NodeViews& views, const client::KeyRing& ring) {
  ForgetImpact impact;
  auto count = [&](const std::string&, const v1::Manifest& manifest) {
    for (int s = 0; s < manifest.stripes_size(); ++s) {
      const auto& nodes = manifest.stripes(s).nodes();
      auto on_node = static_cast<uint64_t>(std::count(nodes.begin(), nodes.end(), node_id));
      if (on_node == 0) continue;
      impact.shards += on_node;
      ++impact.stripes;
      std::vector<int> bad = UnhealthyShards(manifest, s, views, ring);
      int healthy_elsewhere = 0;
      for (int i = 0; i < nodes.size(); ++i) {
        bool unhealthy = std::find(bad.begin(), bad.end(), i) != bad.end();
        healthy_elsewhere += nodes.Get(i) != node_id && !unhealthy ? 1 : 0;
      }
      if (healthy_elsewhere < static_cast<int>(manifest.k())) ++impact.stripes_lost;
    }
  };
  RETURN_IF_ERROR(ForEachPiece(meta, std::chrono::steady_clock::time_point::max(), count).status());
  return impact;
}

absl::Status ForgetRefusal(const std::string& node_id, const v1::NodeStateRecord* state,
                           bool in_node_list, const ForgetImpact& impact, bool force) {
  bool removed = state != nullptr && (state->state() == v1::NodeStateRecord::REMOVED ||
                                      state->state() == v1::NodeStateRecord::FORGOTTEN);
  if (!removed && in_node_list) {
    return absl::InvalidArgumentError(
        "node " + node_id + " is " +
        NodeStateName(state ? state->state() : v1::NodeStateRecord::ACTIVE) +
        ": only a removed node is forgotten; remove it first (`mosaic node remove " + node_id +
        "`), which rebuilds its shards elsewhere");
  }
  if (!removed && impact.shards == 0) {
    return absl::NotFoundError("no node \"" + node_id +
                               "\" in the node list, and no stripe has a shard on it");
  }
  if (impact.shards == 0 || force) return absl::OkStatus();
  std::string lost = impact.stripes_lost == 0
                         ? "repair can still rebuild every one of them from the other shards"
                         : std::to_string(impact.stripes_lost) +
                               " of those stripes have fewer than k healthy shards elsewhere "
                               "and would be lost";
  return absl::FailedPreconditionError(
      "refused to forget " + node_id + ": it still holds " + std::to_string(impact.shards) +
      " shards of " + std::to_string(impact.stripes) + " stripes (" + lost +
      "); wait until `mosaic status` shows 0 shards on it, or give --force to give them up");
}

absl::StatusOr<uint64_t> QueueSpreadStripes(MetaStore& meta,
                                            const std::map<std::string, std::string>& provider_of,
                                            const std::set<std::string>& usable_providers) {
  uint64_t queued = 0;
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(auto page, meta.ListPieces(after, kPiecesPerPage));
    for (const auto& [id, piece] : page) {
      const v1::Manifest& manifest = piece.manifest();
      for (int s = 0; s < manifest.stripes_size(); ++s) {
        const v1::StripePlacement& placement = manifest.stripes(s);
        std::vector<std::string> providers;
        std::map<std::string, int> held;
        for (const std::string& node : placement.nodes()) {
          auto it = provider_of.find(node);
          providers.push_back(it == provider_of.end() ? "?" + node : it->second);
          ++held[providers.back()];
        }
        size_t free = 0;
        for (const std::string& p : usable_providers) free += held.contains(p) ? 0 : 1;
        if (free == 0) continue;
        // The later shards of a shared provider move; the first stays.
        std::map<std::string, int> seen;
        v1::RepairRecord record;
        for (int i = 0;
             i < static_cast<int>(providers.size()) && size_t(record.shards_size()) < free; ++i) {
          if (held[providers[i]] > 1 && seen[providers[i]]++ > 0) record.add_shards(uint32_t(i));
        }
        if (record.shards_size() == 0) continue;
        record.set_piece_id(id);
        record.set_stripe(static_cast<uint64_t>(s));
        record.set_reason("spread");
        record.set_queued_ms(UnixNowMs());
        record.set_margin(static_cast<uint32_t>(std::max(
            0, client::ProviderLossesSurvived(providers, static_cast<int>(manifest.k())))));
        RETURN_IF_ERROR(meta.QueueRepair(record));
        ++queued;
      }
    }
    if (page.size() < kPiecesPerPage) break;
    after = page.back().first;
  }
  return queued;
}

absl::StatusOr<std::vector<client::NodeEndpoint>> NodeStates::AddedEndpoints(
    const MetaStore& meta, const client::KeyRing& ring) {
  ASSIGN_OR_RETURN(auto states, meta.NodeStates());
  std::vector<client::NodeEndpoint> out;
  for (const auto& [id, record] : states) {
    if (!record.has_endpoint() || record.state() == v1::NodeStateRecord::FORGOTTEN) continue;
    const v1::NodeEndpointRecord& e = record.endpoint();
    client::NodeEndpoint endpoint;
    endpoint.spec = {id, e.provider(), e.site(), e.weight()};
    endpoint.address = e.address();
    auto token = client::OpenMetadata(ring, e.sealed_token(), NodeTokenAad(id));
    if (!token.ok()) {
      return absl::DataLossError("the token of node " + id +
                                 " (added with `mosaic node add`) does not open with this key: " +
                                 std::string(token.status().message()));
    }
    endpoint.token = *std::move(token);
    endpoint.plaintext = e.plaintext();
    endpoint.tls_ca_pem = e.tls_ca_pem();
    endpoint.tls_server_name = e.tls_server_name();
    out.push_back(std::move(endpoint));
  }
  return out;
}

NodeStates::NodeStates(MetaStore& meta, client::Pipeline& pipeline)
    : Worker("node states", {.idle_wait = kSweepInterval}), meta_(meta), pipeline_(pipeline) {}

absl::Status NodeStates::Start() {
  ASSIGN_OR_RETURN(auto states, meta_.NodeStates());
  {
    std::lock_guard lock(mu_);
    states_ = std::move(states);
    ApplyExclusions();
    for (const auto& [id, record] : states_) {
      if (record.state() != v1::NodeStateRecord::ACTIVE) {
        spdlog::info("node {} is {}: no new shards go to it", id, NodeStateName(record.state()));
      }
    }
  }
  return absl::OkStatus();
}

std::map<std::string, v1::NodeStateRecord> NodeStates::States() const {
  std::lock_guard lock(mu_);
  return states_;
}

void NodeStates::ApplyExclusions() {
  std::vector<std::string> excluded;
  for (const auto& [id, record] : states_) {
    if (record.state() != v1::NodeStateRecord::ACTIVE) excluded.push_back(id);
  }
  pipeline_.SetExcluded(excluded);
}

absl::StatusOr<NodeStates::Change> NodeStates::Set(const std::string& node_id,
                                                   v1::NodeStateRecord::State state) {
  if (pipeline_.pool().IndexOf(node_id) < 0) {
    return absl::NotFoundError("no node \"" + node_id + "\" in the gateway's node list");
  }
  std::lock_guard change(change_mu_);
  v1::NodeStateRecord record;
  {
    std::lock_guard lock(mu_);
    auto it = states_.find(node_id);
    if (it != states_.end()) record = it->second;
  }
  if (record.state() == v1::NodeStateRecord::FORGOTTEN) {
    return absl::FailedPreconditionError("node \"" + node_id + "\" was forgotten");
  }
  if (record.state() == v1::NodeStateRecord::REMOVED && state != v1::NodeStateRecord::REMOVED) {
    return absl::FailedPreconditionError("node \"" + node_id +
                                         "\" was removed: it is never used again");
  }
  if (record.state() != state || record.changed_ms() == 0) {
    record.set_state(state);
    record.set_changed_ms(UnixNowMs());
    record.set_shards_when_changed(0);
  }
  // The state is stored (and placement stops) before the stripes are queued, so that a
  // crash in between leaves a state the sweeper finishes at the next start.
  RETURN_IF_ERROR(meta_.SetNodeState(node_id, record));
  {
    std::lock_guard lock(mu_);
    states_[node_id] = record;
    swept_clean_.erase(node_id);
    ApplyExclusions();
  }
  Change result;
  if (state != v1::NodeStateRecord::ACTIVE) {
    NodeViews views = CurrentNodeViews(pipeline_.pool(), States());
    ASSIGN_OR_RETURN(QueuedStripes queued,
                     QueueStripesOn(meta_, {{node_id, ReasonOf(state)}}, views, pipeline_.ring()));
    result.stripes_queued = queued.stripes;
    if (record.shards_when_changed() == 0) {
      record.set_shards_when_changed(queued.shards_by_node[node_id]);
      RETURN_IF_ERROR(meta_.SetNodeState(node_id, record));
      std::lock_guard lock(mu_);
      states_[node_id] = record;
    }
  }
  spdlog::info("node {} is now {}; {} stripes queued to move its shards", node_id,
               NodeStateName(state), result.stripes_queued);
  result.record = record;
  return result;
}

absl::StatusOr<NodeStates::Change> NodeStates::Add(client::NodeEndpoint endpoint) {
  RETURN_IF_ERROR(CheckEndpoint(endpoint));
  std::lock_guard change(change_mu_);
  const std::string id = endpoint.spec.id;
  if (pipeline_.pool().IndexOf(id) >= 0) {
    return absl::AlreadyExistsError("node \"" + id + "\" is already in the node list");
  }
  {
    std::lock_guard lock(mu_);
    if (states_.contains(id)) {
      return absl::AlreadyExistsError("node \"" + id + "\" was in the node list before (" +
                                      NodeStateName(states_[id].state()) +
                                      "): give the new node another id");
    }
  }
  {
    client::NodeClient probe(endpoint, client::RpcOptions());
    absl::Status answered = probe.CheckHealth();
    if (!answered.ok()) {
      return absl::FailedPreconditionError("node \"" + id + "\" at " + endpoint.address +
                                           " did not answer: " + answered.ToString());
    }
  }
  v1::NodeStateRecord record;
  record.set_state(v1::NodeStateRecord::ACTIVE);
  record.set_changed_ms(UnixNowMs());
  v1::NodeEndpointRecord* e = record.mutable_endpoint();
  e->set_provider(endpoint.spec.provider);
  e->set_site(endpoint.spec.site);
  e->set_weight(endpoint.spec.weight);
  e->set_address(endpoint.address);
  e->set_sealed_token(client::SealMetadata(pipeline_.ring(), endpoint.token, NodeTokenAad(id)));
  e->set_plaintext(endpoint.plaintext);
  e->set_tls_ca_pem(endpoint.tls_ca_pem);
  e->set_tls_server_name(endpoint.tls_server_name);
  e->set_added_ms(record.changed_ms());
  // Stored before it is used, so that no shard is placed on a node the next start forgets.
  RETURN_IF_ERROR(meta_.SetNodeState(id, record));
  ASSIGN_OR_RETURN(int index, pipeline_.AddNode(std::move(endpoint)));
  (void)pipeline_.pool().node(index).CheckHealth();
  {
    std::lock_guard lock(mu_);
    states_[id] = record;
    ApplyExclusions();
    spread_now_ = true;
  }
  Wake();
  spdlog::info("node {} of provider {} added at {}", id, record.endpoint().provider(),
               record.endpoint().address());
  Change result;
  result.record = record;
  return result;
}

absl::StatusOr<ForgetImpact> NodeStates::Forget(const std::string& node_id, bool force) {
  std::lock_guard change(change_mu_);
  std::optional<v1::NodeStateRecord> record;
  {
    std::lock_guard lock(mu_);
    if (auto it = states_.find(node_id); it != states_.end()) record = it->second;
  }
  if (record && record->state() == v1::NodeStateRecord::FORGOTTEN) return ForgetImpact();
  bool listed = pipeline_.pool().IndexOf(node_id) >= 0;
  NodeViews views = CurrentNodeViews(pipeline_.pool(), States());
  ASSIGN_OR_RETURN(ForgetImpact impact, ImpactOfForget(meta_, node_id, views, pipeline_.ring()));
  RETURN_IF_ERROR(ForgetRefusal(node_id, record ? &*record : nullptr, listed, impact, force));
  if (!record) record.emplace();
  record->set_state(v1::NodeStateRecord::FORGOTTEN);
  record->set_changed_ms(UnixNowMs());
  RETURN_IF_ERROR(meta_.SetNodeState(node_id, *record));
  {
    std::lock_guard lock(mu_);
    states_[node_id] = *record;
    ApplyExclusions();
  }
  spdlog::warn("node {} forgotten{}", node_id,
               impact.shards == 0
                   ? ""
                   : " with " + std::to_string(impact.shards) + " shards still on it (forced): " +
                         std::to_string(impact.stripes_lost) + " stripes lost");
  return impact;
}

void NodeStates::Spread(bool force) {
  std::map<std::string, std::string> provider_of;
  std::set<std::string> usable;
  client::NodePool& pool = pipeline_.pool();
  for (int i = 0, n = pool.size(); i < n; ++i) {
    const client::NodeSpec& spec = pool.node(i).endpoint().spec;
    provider_of[spec.id] = spec.provider;
    if (pipeline_.Usable(i) && HasRoom(pool.node(i).status())) usable.insert(spec.provider);
  }
  {
    std::lock_guard lock(mu_);
    bool grew = usable.size() > spread_providers_;
    spread_providers_ = usable.size();
    // While repairs are queued they may be the spread's own: wait for them to finish.
    if (!grew && !force && meta_.RepairBacklog() > 0) return;
  }
  std::lock_guard change(change_mu_);
  auto queued = QueueSpreadStripes(meta_, provider_of, usable);
  if (!queued.ok()) {
    spdlog::warn("provider spread scan: {}", queued.status().ToString());
    std::lock_guard lock(mu_);
    spread_providers_ = 0;  // try again at the next sweep
    return;
  }
  if (*queued > 0) {
    spdlog::info("{} stripes share a provider while {} providers can take shards: queued to spread",
                 *queued, usable.size());
  }
}

absl::StatusOr<WorkResult> NodeStates::Step() {
  bool force;
  {
    std::lock_guard lock(mu_);
    force = spread_now_;
    spread_now_ = false;
  }
  SweepOnce(first_sweep_);
  Spread(force);
  first_sweep_ = false;
  return WorkResult::Idle();
}

// Queues the stripes still on draining or removed nodes: at start (a drain request may have
// been cut short by a crash), and later whenever the repair queue is empty but such a node
// still holds shards.
void NodeStates::SweepOnce(bool first) {
  if (!first && meta_.RepairBacklog() > 0) return;
  std::lock_guard change(change_mu_);
  int64_t started_ms = UnixNowMs();
  std::map<std::string, std::string> targets;
  std::map<std::string, v1::NodeStateRecord> states = States();
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, record] : states) {
      if (record.state() == v1::NodeStateRecord::ACTIVE || swept_clean_.contains(id)) continue;
      targets[id] = ReasonOf(record.state());
    }
  }
  if (targets.empty()) return;
  auto queued =
      QueueStripesOn(meta_, targets, CurrentNodeViews(pipeline_.pool(), states), pipeline_.ring());
  if (!queued.ok()) {
    spdlog::warn("node state sweep: {}", queued.status().ToString());
    return;
  }
  std::lock_guard lock(mu_);
  for (const auto& [id, reason] : targets) {
    uint64_t left = queued->shards_by_node[id];
    if (left > 0) {
      spdlog::info("node {} ({}) still holds {} shards: queued for repair", id, reason, left);
    } else if (started_ms - states[id].changed_ms() >= kSettleMs) {
      swept_clean_.insert(id);
    }
  }
}

}  // namespace mosaic::gateway
