#include "server/gateway/node_states.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/status.h"
#include "server/gateway/meta/meta_store.h"

namespace mosaic::gateway {
namespace {

constexpr size_t kPiecesPerPage = 1000;
// Writers that placed a shard on a node just before it was excluded commit within their
// stripe timeout; a sweep that starts this long after the change sees their stripes.
constexpr int64_t kSettleMs = 60000;
constexpr auto kSweepInterval = std::chrono::seconds(30);

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const char* ReasonOf(v1::NodeStateRecord::State state) {
  return state == v1::NodeStateRecord::REMOVED ? "removed" : "drain";
}

// Queues one stripe's shards that sit on `targets`, one entry per reason (the store merges).
absl::Status QueueStripe(MetaStore& meta, const std::string& piece_id,
                         const v1::Manifest& manifest, int stripe,
                         const std::map<std::string, std::string>& targets,
                         const NodeViews& views, const client::KeyRing& ring,
                         QueuedStripes& out) {
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
    record.set_queued_ms(WallMs());
    record.set_margin(margin);
    RETURN_IF_ERROR(meta.QueueRepair(record));
  }
  ++out.stripes;
  return absl::OkStatus();
}

}  // namespace

const char* NodeStateName(v1::NodeStateRecord::State state) {
  switch (state) {
    case v1::NodeStateRecord::DRAINING: return "draining";
    case v1::NodeStateRecord::REMOVED: return "removed";
    default: return "active";
  }
}

absl::StatusOr<QueuedStripes> QueueStripesOn(MetaStore& meta,
                                             const std::map<std::string, std::string>& targets,
                                             const NodeViews& views,
                                             const client::KeyRing& ring) {
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

NodeStates::NodeStates(MetaStore& meta, client::Pipeline& pipeline)
    : meta_(meta), pipeline_(pipeline) {}

NodeStates::~NodeStates() { Stop(); }

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
  sweeper_ = std::thread([this] { SweepLoop(); });
  return absl::OkStatus();
}

void NodeStates::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
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
  if (record.state() == v1::NodeStateRecord::REMOVED && state != v1::NodeStateRecord::REMOVED) {
    return absl::FailedPreconditionError("node \"" + node_id +
                                         "\" was removed: it is never used again");
  }
  if (record.state() != state || record.changed_ms() == 0) {
    record.set_state(state);
    record.set_changed_ms(WallMs());
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

void NodeStates::SweepLoop() {
  bool first = true;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    SweepOnce(first);
    first = false;
    lock.lock();
    cv_.wait_for(lock, kSweepInterval, [this] { return stopping_; });
  }
}

// Queues the stripes still on draining or removed nodes: at start (a drain request may have
// been cut short by a crash), and later whenever the repair queue is empty but such a node
// still holds shards.
void NodeStates::SweepOnce(bool first) {
  if (!first && meta_.RepairBacklog() > 0) return;
  std::lock_guard change(change_mu_);
  int64_t started_ms = WallMs();
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
  auto queued = QueueStripesOn(meta_, targets, CurrentNodeViews(pipeline_.pool(), states),
                               pipeline_.ring());
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
