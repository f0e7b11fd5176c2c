#include "server/gateway/jobs/repairer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>

#include "client/pipeline/stripe_repair.h"
#include "common/clock.h"
#include "common/status.h"
#include "server/gateway/meta/manifest_codec.h"

namespace mosaic::gateway {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kIdlePoll = std::chrono::seconds(2);
// Entries waiting for their backoff are skipped, not fetched again: a page large enough
// that failing stripes at the front do not hide the rest.
constexpr size_t kBatch = 1024;
constexpr int64_t kMaxBackoffMs = 10 * 60 * 1000;
constexpr auto kRateWindow = std::chrono::seconds(10);

std::string Hex(const std::string& raw) { return HexEncode(AsBytes(raw)); }

}  // namespace

Repairer::Repairer(MetaStore& meta, client::Pipeline& pipeline, metrics::Registry& registry,
                   RepairerOptions options)
    : Worker("repair", {.idle_wait = kIdlePoll}),
      meta_(meta),
      pipeline_(pipeline),
      options_(std::move(options)),
      shards_total_(registry.GetCounter("mosaic_gateway_repaired_shards_total",
                                        "Shards rebuilt or moved and committed by repair.")),
      bytes_total_(registry.GetCounter("mosaic_gateway_repaired_bytes_total",
                                       "Sealed shard bytes written by repair.")),
      failures_total_(registry.GetCounter("mosaic_gateway_repair_failures_total",
                                          "Repair attempts that failed and were retried.")),
      commits_total_(registry.GetCounter(
          "mosaic_gateway_repair_commits_total",
          "Grouped metadata commits of repaired stripes (each holds one or more).")),
      helpers_(std::max(1, options_.stripes_in_flight) + 1, "repair-stripe") {
  if (options_.bytes_per_second == 0) options_.bytes_per_second = 1;
  tokens_ = double(options_.bytes_per_second);
  refilled_ = Clock::now();
  auto& backlog =
      registry.GetGauge("mosaic_gateway_repair_backlog", "Stripes waiting in the repair queue.");
  registry.AddRefresher([&backlog, &meta] { backlog.Set(double(meta.RepairBacklog())); });
}

absl::StatusOr<WorkResult> Repairer::Step() {
  return RunOnce() > 0 ? WorkResult::Busy() : WorkResult::Idle();
}

std::string Repairer::Detail() const {
  Progress p = progress();
  return std::to_string(p.backlog) + " stripes queued, " + std::to_string(p.shards_done) +
         " shards repaired, " + std::to_string(p.failures) + " attempts failed";
}

Repairer::Progress Repairer::progress() const {
  std::lock_guard lock(mu_);
  Progress p;
  p.backlog = meta_.RepairBacklog();
  p.shards_done = shards_done_;
  p.bytes_done = bytes_done_;
  p.failures = failures_;
  p.commits = commits_;
  p.waiting_commit = waiting_commit_;
  auto now = Clock::now();
  uint64_t bytes = 0;
  for (const auto& [at, b] : recent_) {
    if (now - at <= kRateWindow) bytes += b;
  }
  p.bytes_per_second = double(bytes) / std::chrono::duration<double>(kRateWindow).count();
  return p;
}

bool Repairer::Throttle() {
  const double rate = double(options_.bytes_per_second);
  for (;;) {
    std::chrono::duration<double> wait;
    {
      std::lock_guard lock(mu_);
      auto now = Clock::now();
      double elapsed_s = std::chrono::duration<double>(now - refilled_).count();
      tokens_ = std::min(rate, tokens_ + rate * elapsed_s);
      refilled_ = now;
      if (tokens_ >= 0) return !stopping();
      wait = std::chrono::duration<double>(-tokens_ / rate);
    }
    if (!Pause(std::chrono::ceil<std::chrono::milliseconds>(wait))) return false;
  }
}

void Repairer::Account(uint64_t bytes) {
  std::lock_guard lock(mu_);
  tokens_ -= double(bytes);
  auto now = Clock::now();
  recent_.emplace_back(now, bytes);
  while (!recent_.empty() && now - recent_.front().first > kRateWindow) recent_.pop_front();
}

struct Repairer::Written {
  v1::RepairRecord entry;
  std::shared_ptr<const client::ObjectManifest> manifest;
  std::vector<client::ReplacedShard> moves;  // written, to commit (shard_index, node_id)
  std::vector<uint32_t> left;                // to retry (no node took them)
  std::string why;
  uint64_t shard_bytes = 0;
  // Keeps the new chunks from the orphan sweeps until the commit (released at its end).
  std::shared_ptr<void> guard;
};

struct Repairer::Pass {  // shared with the tasks, which may end after RunOnce returns
  std::mutex mu;
  std::condition_variable cv;
  size_t running = 0;      // stripes being fetched, rebuilt or written (the window)
  size_t outstanding = 0;  // stripes not yet committed or dropped
  size_t done = 0;         // entries finished
  bool committing = false;
  std::vector<Written> queued;  // waiting for the next grouped commit
};

size_t Repairer::RunOnce() {
  auto pending = meta_.PendingRepairs(kBatch);
  if (!pending.ok()) {
    spdlog::error("repair queue: {}", pending.status().ToString());
    return 0;
  }
  std::vector<const v1::RepairRecord*> due;
  int64_t now = UnixNowMs();
  for (const v1::RepairRecord& entry : *pending) {
    if (entry.not_before_ms() <= now) due.push_back(&entry);
  }
  // A stripe's repair mostly waits on the nodes (fetches, then a durable put), so several
  // stripes go at once, a new one as soon as one is written (never waiting for the slowest
  // of a group, nor for the commit); each is a different stripe (one queue entry per
  // stripe; the queue is in stripe-then-piece order, so neighbours are of different pieces).
  const size_t window = size_t(std::max(1, options_.stripes_in_flight));
  auto pass = std::make_shared<Pass>();
  for (const v1::RepairRecord* entry : due) {
    if (!Throttle()) break;
    std::unique_lock lock(pass->mu);
    pass->cv.wait(lock, [&] { return pass->running < window; });
    ++pass->running;
    ++pass->outstanding;
    lock.unlock();
    helpers_.Submit([this, pass, entry] {
      bool finished = false;
      std::optional<Written> written = Repair(*entry, finished);
      {
        std::lock_guard l(pass->mu);
        --pass->running;
        if (!written) {
          pass->done += finished ? 1 : 0;
          --pass->outstanding;
        }
        pass->cv.notify_all();
      }
      if (written) Commit(pass, std::move(*written));
    });
  }
  std::unique_lock lock(pass->mu);
  pass->cv.wait(lock, [&] { return pass->outstanding == 0; });
  return pass->done;
}

void Repairer::Commit(const std::shared_ptr<Pass>& pass, Written written) {
  std::unique_lock lock(pass->mu);
  pass->queued.push_back(std::move(written));
  Waiting(1);
  if (pass->committing) return;  // that helper commits it with the next group
  pass->committing = true;
  while (!pass->queued.empty()) {
    std::vector<Written> batch;
    batch.swap(pass->queued);
    Waiting(-int64_t(batch.size()));
    lock.unlock();
    if (options_.before_commit) options_.before_commit(batch.size());
    size_t finished = CommitBatch(batch);
    size_t count = batch.size();
    batch.clear();  // releases the chunks' guards
    lock.lock();
    pass->done += finished;
    pass->outstanding -= count;
    pass->cv.notify_all();
  }
  pass->committing = false;
}

size_t Repairer::CommitBatch(std::vector<Written>& batch) {
  std::vector<MetaStore::RepairCommit> commits;
  commits.reserve(batch.size());
  for (const Written& w : batch) {
    MetaStore::RepairCommit c;
    c.taken = w.entry;
    for (const client::ReplacedShard& s : w.moves) {
      c.moves.push_back({uint32_t(s.shard_index),
                         w.manifest->stripes[w.entry.stripe()].nodes[s.shard_index], s.node_id});
    }
    if (!w.left.empty()) c.retry = Backoff(w.entry, w.left, w.why);
    commits.push_back(std::move(c));
  }
  auto moved = meta_.CommitRepairs(commits);
  commits_total_.Inc();
  {
    std::lock_guard lock(mu_);
    ++commits_;
  }
  if (!moved.ok()) {
    // Nothing committed: each entry is put back whole. The new chunks may be in use if the
    // outcome is unknown (a lost database connection): the orphan sweep, which checks the
    // references, decides later.
    for (const Written& w : batch) {
      Retry(w.entry, {w.entry.shards().begin(), w.entry.shards().end()}, moved.status().ToString());
    }
    return 0;
  }
  size_t finished = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    Settle(batch[i], (*moved)[i]);
    if (commits[i].retry) {
      CountFailure();
    } else {
      ++finished;
    }
  }
  return finished;
}

v1::RepairRecord Repairer::Backoff(const v1::RepairRecord& taken, const std::vector<uint32_t>& left,
                                   const std::string& why) const {
  v1::RepairRecord entry = taken;
  entry.clear_shards();
  for (uint32_t s : left) entry.add_shards(s);
  entry.set_attempts(entry.attempts() + 1);
  int64_t backoff =
      std::min<int64_t>(kMaxBackoffMs, int64_t{1000} << std::min(20u, entry.attempts()));
  entry.set_not_before_ms(UnixNowMs() + backoff);
  spdlog::warn("repair of piece {} stripe {} failed (attempt {}, retry in {} ms): {}",
               Hex(entry.piece_id()), entry.stripe(), entry.attempts(), backoff, why);
  return entry;
}

void Repairer::Waiting(int64_t change) {
  std::lock_guard lock(mu_);
  waiting_commit_ += uint64_t(change);
}

void Repairer::CountFailure() {
  failures_total_.Inc();
  std::lock_guard lock(mu_);
  ++failures_;
}

void Repairer::Retry(const v1::RepairRecord& taken, const std::vector<uint32_t>& left,
                     const std::string& why) {
  CountFailure();
  if (auto s = meta_.FinishRepair(taken, Backoff(taken, left, why)); !s.ok()) {
    spdlog::error("repair queue: {}", s.ToString());
  }
}

void Repairer::DeleteChunk(const std::string& node_id, const client::ObjectManifest& manifest,
                           uint64_t stripe, int shard) {
  int node = pipeline_.pool().IndexOf(node_id);
  if (node < 0) return;
  std::string id =
      client::ChunkIdString(pipeline_.ring().ComputeChunkId(manifest.object_id, stripe, shard));
  // Best effort: a chunk left behind is an orphan for the sweep, never a wrong read.
  pipeline_.pool().node(node).Delete(id, [](absl::StatusOr<bool>) {});
}

bool Repairer::ShardIsOn(const std::string& piece_id, uint64_t stripe, int shard,
                         const std::string& node_id) const {
  auto piece = meta_.GetPiece(piece_id);
  if (!piece.ok()) return true;  // unknown: keep the chunk
  if (!piece->has_value()) return false;
  const v1::Manifest& m = (*piece)->manifest();
  return stripe < uint64_t(m.stripes_size()) && shard < m.stripes(int(stripe)).nodes_size() &&
         m.stripes(int(stripe)).nodes(shard) == node_id;
}

bool Repairer::SharesProvider(const std::vector<std::string>& placement, int slot,
                              const std::string& node_id) const {
  auto provider = [this](const std::string& id) {
    int i = pipeline_.pool().IndexOf(id);
    return i < 0 ? "?" + id : pipeline_.pool().node(i).endpoint().spec.provider;
  };
  const std::string mine = provider(node_id);
  for (int i = 0; i < static_cast<int>(placement.size()); ++i) {
    if (i != slot && provider(placement[i]) == mine) return true;
  }
  return false;
}

absl::Status Repairer::Hold(const client::ObjectManifest& manifest) {
  client::WriteJournal* journal = pipeline_.write_journal();
  if (journal == nullptr) return absl::OkStatus();
  // Recorded at every hold (the same record: the whole object, whose other stripes' chunks
  // are referenced anyway), under holds_mu_ so that a release cannot pass a hold.
  std::lock_guard lock(holds_mu_);
  RETURN_IF_ERROR(
      journal->Reserve(manifest.object_id, manifest.k + manifest.m, manifest.stripes.size()));
  ++holds_[manifest.object_id];
  return absl::OkStatus();
}

void Repairer::Unhold(const client::ObjectId& object) {
  client::WriteJournal* journal = pipeline_.write_journal();
  if (journal == nullptr) return;
  std::lock_guard lock(holds_mu_);
  auto it = holds_.find(object);
  if (it == holds_.end() || --it->second > 0) return;
  holds_.erase(it);
  journal->Release(object);
}

std::optional<Repairer::Written> Repairer::Repair(const v1::RepairRecord& entry, bool& finished) {
  const std::string& piece_id = entry.piece_id();
  auto finish = [&]() -> std::optional<Written> {
    finished = true;
    if (auto s = meta_.FinishRepair(entry, std::nullopt); !s.ok()) {
      spdlog::error("repair queue: {}", s.ToString());
      finished = false;
    }
    return std::nullopt;
  };
  auto piece = meta_.GetPiece(piece_id);
  if (!piece.ok()) {
    spdlog::error("repair: piece {}: {}", Hex(piece_id), piece.status().ToString());
    return std::nullopt;
  }
  if (!piece->has_value()) return finish();  // deleted meanwhile: nothing to repair
  auto manifest = FromProto((*piece)->manifest());
  if (!manifest.ok()) {
    spdlog::error("repair: piece {} has an unreadable manifest, entry dropped: {}", Hex(piece_id),
                  manifest.status().ToString());
    return finish();
  }
  std::vector<int> shards(entry.shards().begin(), entry.shards().end());
  // Unreachable and removed nodes are not read; draining ones are (their copy is moved, and
  // deleted once the new placement is committed). Pipeline::Usable excludes draining nodes
  // from new shards, which RepairStripe applies to the destinations.
  auto avoid = [this](const std::string& id) {
    int i = pipeline_.pool().IndexOf(id);
    if (i < 0 || !pipeline_.Readable(i)) return true;
    return options_.avoid && options_.avoid(id);
  };
  // The chunks this repair writes stay in the in-flight registry until their new placement
  // is committed or dropped (the guard's end, after the grouped commit), so that an orphan
  // sweep never takes them in between.
  std::vector<std::string> ids;
  for (int shard : shards) {
    ids.push_back(client::ChunkIdString(
        pipeline_.ring().ComputeChunkId(manifest->object_id, entry.stripe(), shard)));
    pipeline_.in_flight().Add(ids.back());
  }
  std::shared_ptr<void> in_flight(
      nullptr, [this, ids = std::move(ids)](void*) { pipeline_.in_flight().Remove(ids); });
  // Recorded for every gateway's sweep too (issue 17), until the placement is settled.
  if (absl::Status held = Hold(*manifest); !held.ok()) {
    Retry(entry, {entry.shards().begin(), entry.shards().end()}, held.ToString());
    return std::nullopt;
  }
  Written w;
  w.entry = entry;
  w.manifest = std::make_shared<const client::ObjectManifest>(std::move(*manifest));
  w.guard = std::shared_ptr<void>(
      nullptr, [this, in_flight, object = w.manifest->object_id](void*) { Unhold(object); });
  client::StripeRepairResult r = client::RepairStripe(pipeline_, *w.manifest, entry.stripe(),
                                                      shards, avoid, options_.no_new_shards);
  if (r.status.code() == absl::StatusCode::kInvalidArgument) {
    spdlog::error("repair: piece {} stripe {}: {}; entry dropped", Hex(piece_id), entry.stripe(),
                  r.status.ToString());
    return finish();
  }
  if (!r.status.ok()) {
    Retry(entry, {entry.shards().begin(), entry.shards().end()}, r.status.ToString());
    return std::nullopt;
  }
  Account(r.bytes_written);
  size_t written = std::count_if(r.shards.begin(), r.shards.end(),
                                 [](const client::ReplacedShard& s) { return s.status.ok(); });
  w.shard_bytes = written > 0 ? r.bytes_written / written : 0;
  const auto& placement = w.manifest->stripes[entry.stripe()].nodes;
  for (client::ReplacedShard& s : r.shards) {
    if (!s.status.ok()) {
      w.left.push_back(uint32_t(s.shard_index));
      w.why = s.status.ToString();
    } else if (entry.reason() == "spread" && SharesProvider(placement, s.shard_index, s.node_id)) {
      // No provider free of the stripe took it: moving would not spread anything.
      spdlog::info("repair: piece {} stripe {} shard {} stays on {}: no free provider took it",
                   Hex(piece_id), entry.stripe(), s.shard_index, placement[s.shard_index]);
      DeleteChunk(s.node_id, *w.manifest, entry.stripe(), s.shard_index);
    } else {
      w.moves.push_back(std::move(s));
    }
  }
  return w;
}

void Repairer::Settle(const Written& w, const std::vector<absl::Status>& moved) {
  const v1::RepairRecord& entry = w.entry;
  const auto& placement = w.manifest->stripes[entry.stripe()].nodes;
  for (size_t i = 0; i < w.moves.size(); ++i) {
    const client::ReplacedShard& s = w.moves[i];
    const std::string& old = placement[s.shard_index];
    if (!moved[i].ok()) {
      // The piece was deleted, or the shard moved by someone else: what we wrote is unused —
      // unless the other repair chose this same node (same chunk id).
      spdlog::info("repair: piece {} stripe {} shard {} not moved to {}: {}", Hex(entry.piece_id()),
                   entry.stripe(), s.shard_index, s.node_id, moved[i].ToString());
      if (!ShardIsOn(entry.piece_id(), entry.stripe(), s.shard_index, s.node_id)) {
        DeleteChunk(s.node_id, *w.manifest, entry.stripe(), s.shard_index);
      }
      continue;
    }
    spdlog::info("repair: piece {} stripe {} shard {} moved {} -> {} ({})", Hex(entry.piece_id()),
                 entry.stripe(), s.shard_index, old, s.node_id, entry.reason());
    shards_total_.Inc();
    bytes_total_.Inc(w.shard_bytes);
    {
      std::lock_guard lock(mu_);
      ++shards_done_;
      bytes_done_ += w.shard_bytes;
    }
    if (int node = pipeline_.pool().IndexOf(old); node >= 0 && pipeline_.Readable(node)) {
      DeleteChunk(old, *w.manifest, entry.stripe(), s.shard_index);
    }
  }
}

void Repairer::ReportBadShards(const v1::ObjectRecord& record,
                               const std::vector<client::BadShard>& faults) {
  bool queued = false;
  for (const client::BadShard& f : faults) {
    if (f.status.code() != absl::StatusCode::kDataLoss &&
        f.status.code() != absl::StatusCode::kNotFound) {
      continue;
    }
    // Faults name the stripe within its piece; the piece is the one whose stripe has the
    // shard on that node (several may, for identical placements: each is queued).
    for (const v1::ObjectPart& part : record.parts()) {
      const v1::Manifest& m = part.manifest();
      if (f.stripe >= uint64_t(m.stripes_size())) continue;
      const auto& nodes = m.stripes(int(f.stripe)).nodes();
      if (f.shard_index < 0 || f.shard_index >= nodes.size() || nodes[f.shard_index] != f.node_id) {
        continue;
      }
      v1::RepairRecord r;
      r.set_piece_id(part.piece_id().empty() ? m.object_id() : part.piece_id());
      r.set_stripe(f.stripe);
      r.add_shards(uint32_t(f.shard_index));
      r.set_reason("read");
      r.set_queued_ms(UnixNowMs());
      r.set_margin(m.m() > 0 ? m.m() - 1 : 0);
      if (auto s = meta_.QueueRepair(r); !s.ok()) {
        spdlog::error("repair: cannot queue a read fault: {}", s.ToString());
        continue;
      }
      spdlog::warn("repair: read found shard {} of stripe {} of piece {} bad on {}: {}",
                   f.shard_index, f.stripe, Hex(r.piece_id()), f.node_id, f.status.ToString());
      queued = true;
    }
  }
  if (queued) Wake();
}

}  // namespace mosaic::gateway
