#include "server/gateway/status.h"

#include <algorithm>
#include <cstring>

#include "client/placement/placement.h"
#include "common/clock.h"
#include "common/status.h"
#include "server/gateway/meta/meta_store.h"
#include "server/gateway/node_states.h"

namespace mosaic::gateway {
namespace {

constexpr size_t kPiecesPerPage = 1000;

// The node's health in status words: up, unreachable, declared down.
std::string HealthOf(const std::string& id, client::NodeHealth h, const FailureView& failures) {
  if (h == client::NodeHealth::kUp) return "up";
  return failures.declared_down.contains(id) ? "declared down" : "unreachable";
}

// True when two shards or more of the stripe are at one provider (nodes not in `nodes` are
// providers of their own).
bool UnderSpread(const v1::StripePlacement& placement, const NodeViews& nodes) {
  std::set<std::string> providers;
  for (const std::string& node : placement.nodes()) {
    auto it = nodes.find(node);
    if (!providers.insert(it == nodes.end() ? "?" + node : it->second.provider).second) {
      return true;
    }
  }
  return false;
}

// Counts one stripe into `report`.
void CountStripe(const v1::Manifest& manifest, int stripe, const NodeViews& nodes,
                 const client::KeyRing& ring, SafetyReport& report) {
  const v1::StripePlacement& placement = manifest.stripes(stripe);
  ++report.stripes;
  for (const std::string& node : placement.nodes()) {
    if (!node.empty()) ++report.shards_by_node[node];
  }
  if (UnderSpread(placement, nodes)) ++report.under_spread;
  std::vector<int> bad = UnhealthyShards(manifest, stripe, nodes, ring);
  for (int i : bad) {
    auto it = i < placement.nodes_size() ? nodes.find(placement.nodes(i)) : nodes.end();
    if (it != nodes.end() && it->second.unreachable) {
      ++report.at_risk;
      break;
    }
  }
  const int n = static_cast<int>(manifest.k() + manifest.m());
  const int k = static_cast<int>(manifest.k());
  if (n - static_cast<int>(bad.size()) < k) {
    ++report.lost;
    report.losses_survived = -1;
    return;
  }
  ++report.missing[static_cast<int>(bad.size())];
  std::vector<std::string> providers;
  for (int i = 0; i < placement.nodes_size(); ++i) {
    if (std::find(bad.begin(), bad.end(), i) != bad.end()) continue;
    providers.push_back(nodes.at(placement.nodes(i)).provider);
  }
  int survives = client::ProviderLossesSurvived(providers, k);
  if (!report.losses_survived || survives < *report.losses_survived) {
    report.losses_survived = survives;
  }
}

}  // namespace

NodeViews CurrentNodeViews(const client::NodePool& pool,
                           const std::map<std::string, v1::NodeStateRecord>& states,
                           const std::set<std::string>& declared_down) {
  NodeViews views;
  for (int i = 0; i < pool.size(); ++i) {
    const client::NodeClient& node = pool.node(i);
    NodeView& view = views[node.id()];
    view.provider = node.endpoint().spec.provider;
    client::NodeStatus status = node.status();
    auto state = states.find(node.id());
    bool removed =
        state != states.end() && (state->second.state() == v1::NodeStateRecord::REMOVED ||
                                  state->second.state() == v1::NodeStateRecord::FORGOTTEN);
    bool up = status.health == client::NodeHealth::kUp;
    view.healthy = up && !removed;
    view.unreachable = !up && !removed && !declared_down.contains(node.id());
    view.corrupt_chunks.insert(status.corrupt_chunks.begin(), status.corrupt_chunks.end());
  }
  return views;
}

std::vector<int> UnhealthyShards(const v1::Manifest& manifest, int stripe, const NodeViews& nodes,
                                 const client::KeyRing& ring) {
  std::vector<int> bad;
  const v1::StripePlacement& placement = manifest.stripes(stripe);
  std::optional<client::ObjectId> object;
  for (int i = 0; i < placement.nodes_size(); ++i) {
    auto it = nodes.find(placement.nodes(i));
    if (it == nodes.end() || !it->second.healthy) {
      bad.push_back(i);
      continue;
    }
    if (it->second.corrupt_chunks.empty()) continue;
    if (!object) {
      if (manifest.object_id().size() != client::ObjectId().size()) continue;
      object.emplace();
      std::memcpy(object->data(), manifest.object_id().data(), object->size());
    }
    client::ChunkId id = ring.ComputeChunkId(*object, static_cast<uint64_t>(stripe), i);
    if (it->second.corrupt_chunks.contains(client::ChunkIdString(id))) bad.push_back(i);
  }
  // A stripe naming fewer nodes than k + m lacks the others.
  for (int i = placement.nodes_size(); i < static_cast<int>(manifest.k() + manifest.m()); ++i) {
    bad.push_back(i);
  }
  return bad;
}

absl::StatusOr<bool> ForEachPiece(
    const MetaStore& meta, std::chrono::steady_clock::time_point deadline,
    const std::function<void(const std::string& id, const v1::Manifest& manifest)>& fn) {
  std::string after;
  while (true) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    ASSIGN_OR_RETURN(auto page, meta.ListPieces(after, kPiecesPerPage));
    for (const auto& [id, piece] : page) fn(id, piece.manifest());
    if (page.size() < kPiecesPerPage) return true;
    after = page.back().first;
  }
}

uint64_t SafetyReport::healthy() const {
  auto it = missing.find(0);
  return it == missing.end() ? 0 : it->second;
}

absl::StatusOr<SafetyReport> ComputeSafety(const MetaStore& meta, const NodeViews& nodes,
                                           const client::KeyRing& ring,
                                           std::chrono::steady_clock::time_point deadline) {
  auto start = std::chrono::steady_clock::now();
  SafetyReport report;
  ASSIGN_OR_RETURN(report.complete,
                   ForEachPiece(meta, deadline, [&](const std::string&, const v1::Manifest& m) {
                     ++report.pieces;
                     report.bytes += m.size();
                     for (int s = 0; s < m.stripes_size(); ++s) {
                       CountStripe(m, s, nodes, ring, report);
                     }
                   }));
  report.computed_ms = UnixNowMs();
  report.scan_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return report;
}

RepairProgressView RepairProgressFromStore(const MetaStore& meta) {
  RepairProgressView view;
  view.backlog = meta.RepairBacklog();
  return view;
}

StatusService::StatusService(const MetaStore& meta, client::Pipeline& pipeline, NodeStates& states,
                             Options options)
    : meta_(meta), pipeline_(pipeline), states_(states), options_(options) {}

void StatusService::SetBackupProgress(std::function<BackupView()> source) {
  std::lock_guard lock(source_mu_);
  backup_source_ = std::move(source);
}

void StatusService::SetWorkers(std::function<std::vector<WorkerStatus>()> source) {
  std::lock_guard lock(source_mu_);
  workers_source_ = std::move(source);
}

void StatusService::SetFailures(std::function<FailureView()> source) {
  std::lock_guard lock(source_mu_);
  failure_source_ = std::move(source);
}

FailureView StatusService::Failures() {
  std::lock_guard lock(source_mu_);
  return failure_source_ ? failure_source_() : FailureView();
}

void StatusService::SetRepairProgress(std::function<RepairProgressView()> source) {
  std::lock_guard lock(source_mu_);
  repair_source_ = std::move(source);
}

namespace {

// What the scan's result depends on besides the metadata: which nodes are healthy, which
// unreachable. A cached report is stale as soon as it changes (a node just went missing).
std::string ViewsKey(const NodeViews& views) {
  std::string key;
  for (const auto& [id, v] : views) {
    key += id +
           (v.healthy       ? "+"
            : v.unreachable ? "?"
                            : "-") +
           std::to_string(v.corrupt_chunks.size()) + ";";
  }
  return key;
}

}  // namespace

absl::StatusOr<SafetyReport> StatusService::ScanLocked(const NodeViews& views) {
  ASSIGN_OR_RETURN(SafetyReport report,
                   ComputeSafety(meta_, views, pipeline_.ring(),
                                 std::chrono::steady_clock::now() + options_.scan_bound));
  latest_ = report;
  return report;
}

absl::StatusOr<SafetyReport> StatusService::Safety() {
  std::lock_guard lock(mu_);
  auto now = std::chrono::steady_clock::now();
  NodeViews views = CurrentNodeViews(pipeline_.pool(), states_.States(), Failures().declared_down);
  std::string key = ViewsKey(views);
  if (cached_ && now - cached_at_ < options_.cache_for && key == cached_key_) return *cached_;
  ASSIGN_OR_RETURN(SafetyReport report, ScanLocked(views));
  cached_ = report;
  cached_at_ = std::chrono::steady_clock::now();
  cached_key_ = std::move(key);
  return report;
}

absl::StatusOr<SafetyReport> StatusService::Rescan() {
  std::lock_guard lock(mu_);
  return ScanLocked(CurrentNodeViews(pipeline_.pool(), states_.States(), Failures().declared_down));
}

absl::StatusOr<StatusDocument> StatusService::Document() {
  ASSIGN_OR_RETURN(SafetyReport safety, Safety());
  std::map<std::string, v1::NodeStateRecord> states = states_.States();
  FailureView failures = Failures();
  StatusDocument doc;
  doc.generated_ms = UnixNowMs();
  doc.k = pipeline_.options().k;
  doc.m = pipeline_.options().m;
  doc.safety = std::move(safety);
  auto state_of = [&](const std::string& id) {
    auto it = states.find(id);
    return NodeStateName(it == states.end() ? v1::NodeStateRecord::ACTIVE : it->second.state());
  };
  // A forgotten node (`mosaic node forget`) is shown nowhere.
  auto forgotten = [&](const std::string& id) {
    auto it = states.find(id);
    return it != states.end() && it->second.state() == v1::NodeStateRecord::FORGOTTEN;
  };
  auto shards_of = [&](const std::string& id) {
    auto it = doc.safety.shards_by_node.find(id);
    return it == doc.safety.shards_by_node.end() ? uint64_t{0} : it->second;
  };
  client::NodePool& pool = pipeline_.pool();
  for (int i = 0; i < pool.size(); ++i) {
    const client::NodeClient& node = pool.node(i);
    if (forgotten(node.id())) continue;
    client::NodeStatus st = node.status();
    NodeRow row;
    row.id = node.id();
    row.provider = node.endpoint().spec.provider;
    row.address = node.endpoint().address;
    row.health = HealthOf(row.id, st.health, failures);
    row.state = state_of(row.id);
    if (auto at = failures.declare_down_at_ms.find(row.id);
        row.health == "unreachable" && at != failures.declare_down_at_ms.end()) {
      row.declared_down_in_s = std::max<double>(0, double(at->second - doc.generated_ms) / 1000);
    }
    auto seen = st.last_seen.time_since_epoch();
    row.last_seen_ms =
        seen.count() == 0 ? 0 : std::chrono::duration_cast<std::chrono::milliseconds>(seen).count();
    row.latency_ms = st.latency_ms;
    row.used_bytes = st.used_bytes;
    row.free_bytes = st.free_bytes;
    row.capacity_bytes = st.capacity_bytes;
    row.quota_bytes = st.quota_bytes;
    row.corrupt_chunks = st.corrupt_chunks.size();
    row.shards = shards_of(row.id);
    doc.nodes.push_back(std::move(row));
  }
  // A provider's nodes together (a node added at runtime comes last in the pool).
  std::stable_sort(doc.nodes.begin(), doc.nodes.end(),
                   [](const NodeRow& a, const NodeRow& b) { return a.provider < b.provider; });
  // Nodes that manifests name but the node list does not (removed from the config).
  for (const auto& [id, count] : doc.safety.shards_by_node) {
    if (pool.IndexOf(id) >= 0 || forgotten(id)) continue;
    NodeRow row;
    row.id = id;
    row.provider = "?";
    row.health = "unknown";
    row.state = state_of(id);
    row.shards = count;
    doc.nodes.push_back(std::move(row));
  }
  std::sort(doc.nodes.begin(), doc.nodes.end(), [](const NodeRow& a, const NodeRow& b) {
    return std::tie(a.provider, a.id) < std::tie(b.provider, b.id);
  });
  {
    std::lock_guard lock(source_mu_);
    doc.repair = repair_source_ ? repair_source_() : RepairProgressFromStore(meta_);
    if (backup_source_) doc.backup = backup_source_();
    if (workers_source_) doc.workers = workers_source_();
  }
  doc.deletion_backlog = meta_.DeletionBacklog();
  for (const auto& [id, record] : states) {
    if (record.state() == v1::NodeStateRecord::ACTIVE || forgotten(id)) continue;
    DrainRow drain;
    drain.node = id;
    drain.state = NodeStateName(record.state());
    drain.since_ms = record.changed_ms();
    drain.shards_at_start = record.shards_when_changed();
    drain.shards_left = shards_of(id);
    doc.drains.push_back(std::move(drain));
  }
  return doc;
}

}  // namespace mosaic::gateway
