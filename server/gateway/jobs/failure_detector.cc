#include "server/gateway/jobs/failure_detector.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/clock.h"
#include "common/status.h"

namespace mosaic::gateway {
namespace {

constexpr size_t kPage = 256;

}  // namespace

FailureDetector::FailureDetector(MetaStore& meta, client::NodePool& pool,
                                 std::chrono::milliseconds down_after,
                                 std::chrono::milliseconds check_interval,
                                 std::function<void()> on_queued)
    : Worker("failure detector", {.idle_wait = check_interval, .first_wait = check_interval}),
      meta_(meta),
      pool_(pool),
      down_after_(down_after),
      on_queued_(std::move(on_queued)),
      started_(std::chrono::system_clock::now()) {}

absl::StatusOr<WorkResult> FailureDetector::Step() {
  RunOnce(std::chrono::system_clock::now());
  return WorkResult::Idle();
}

std::string FailureDetector::Detail() const {
  std::lock_guard lock(mu_);
  if (down_.empty()) return "no node declared down";
  std::string out = "declared down:";
  for (const std::string& id : down_) out += " " + id;
  return out;
}

std::set<std::string> FailureDetector::DownNodes() const {
  std::lock_guard lock(mu_);
  return down_;
}

std::map<std::string, std::chrono::system_clock::time_point> FailureDetector::DeclaresDownAt()
    const {
  std::map<std::string, std::chrono::system_clock::time_point> out;
  std::lock_guard lock(mu_);
  for (int i = 0; i < pool_.size(); ++i) {
    const client::NodeClient& node = pool_.node(i);
    client::NodeStatus st = node.status();
    if (st.health == client::NodeHealth::kUp || down_.contains(node.id())) continue;
    // A node recorded as declared down earlier is declared again at the next check.
    out[node.id()] =
        recorded_.contains(node.id()) ? started_ : std::max(st.last_seen, started_) + down_after_;
  }
  return out;
}

void FailureDetector::LoadRecorded() {
  if (loaded_) return;
  auto recorded = meta_.DeclaredDown();
  if (!recorded.ok()) {
    spdlog::error("failure detector: reading the nodes declared down: {}",
                  recorded.status().ToString());
    return;
  }
  for (const auto& [id, ms] : *recorded) recorded_.insert(id);
  loaded_ = true;
}

bool FailureDetector::Record(const std::set<std::string>& nodes,
                             std::chrono::system_clock::time_point now) {
  uint64_t ms = uint64_t(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
  for (const std::string& id : nodes) {
    if (recorded_.contains(id)) continue;
    if (auto s = meta_.SetDeclaredDown(id, ms); !s.ok()) {
      spdlog::error("failure detector: recording {} as down (retried next check): {}", id,
                    s.ToString());
      return false;
    }
    recorded_.insert(id);
  }
  return true;
}

void FailureDetector::Forget(const std::string& node_id) {
  if (!recorded_.contains(node_id)) return;
  if (auto s = meta_.SetDeclaredDown(node_id, std::nullopt); !s.ok()) {
    spdlog::error("failure detector: forgetting {} (retried next check): {}", node_id,
                  s.ToString());
    return;
  }
  recorded_.erase(node_id);
}

size_t FailureDetector::RunOnce(std::chrono::system_clock::time_point now) {
  std::set<std::string> fresh, down, up;
  {
    std::lock_guard lock(mu_);
    LoadRecorded();
    for (int i = 0; i < pool_.size(); ++i) {
      const client::NodeClient& node = pool_.node(i);
      client::NodeStatus st = node.status();
      if (st.health == client::NodeHealth::kUp) {
        if (down_.erase(node.id()) > 0) {
          spdlog::info("failure detector: node {} is up again", node.id());
        }
        if (recorded_.contains(node.id())) up.insert(node.id());
        continue;
      }
      if (down_.contains(node.id())) continue;
      // Declared down before (by this gateway before a restart, or by another one): at once.
      auto since = std::max(st.last_seen, started_);
      if (now - since < down_after_ && !recorded_.contains(node.id())) continue;
      fresh.insert(node.id());
    }
    for (const std::string& id : up) Forget(id);
    down = down_;
    down.insert(fresh.begin(), fresh.end());
    if (!fresh.empty() && !Record(fresh, now)) return 0;
  }
  if (fresh.empty()) return 0;
  for (const std::string& id : fresh) {
    spdlog::warn(
        "failure detector: node {} unreachable for over {} s: declared down, "
        "queueing its shards for repair",
        id, std::chrono::duration_cast<std::chrono::seconds>(down_after_).count());
  }
  auto queued = QueueStripesOn(fresh, down);
  if (!queued.ok()) {
    spdlog::error("failure detector: scan failed (retried next check): {}",
                  queued.status().ToString());
    return 0;
  }
  {
    std::lock_guard lock(mu_);
    down_.insert(fresh.begin(), fresh.end());
  }
  spdlog::warn("failure detector: {} stripes queued for repair", *queued);
  if (*queued > 0 && on_queued_) on_queued_();
  return *queued;
}

absl::StatusOr<size_t> FailureDetector::QueueStripesOn(const std::set<std::string>& nodes,
                                                       const std::set<std::string>& down) {
  size_t queued = 0;
  std::string after;
  for (;;) {
    ASSIGN_OR_RETURN(auto page, meta_.ListPieces(after, kPage));
    for (const auto& [id, piece] : page) {
      const v1::Manifest& m = piece.manifest();
      for (int s = 0; s < m.stripes_size(); ++s) {
        v1::RepairRecord r;
        uint32_t lost = 0;
        const auto& placed = m.stripes(s).nodes();
        for (int i = 0; i < placed.size(); ++i) {
          if (nodes.contains(placed[i])) r.add_shards(uint32_t(i));
          if (down.contains(placed[i])) ++lost;
        }
        if (r.shards_size() == 0) continue;
        r.set_piece_id(id);
        r.set_stripe(uint64_t(s));
        r.set_reason("node down");
        r.set_queued_ms(UnixNowMs());
        r.set_margin(lost >= m.m() ? 0 : m.m() - lost);
        RETURN_IF_ERROR(meta_.QueueRepair(r));
        ++queued;
      }
    }
    if (page.size() < kPage) break;
    after = page.back().first;
  }
  return queued;
}

}  // namespace mosaic::gateway
