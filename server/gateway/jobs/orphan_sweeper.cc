#include "server/gateway/jobs/orphan_sweeper.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <cstring>
#include <limits>
#include <memory>

#include "common/latch.h"
#include "common/status.h"
#include "server/gateway/backup/root.h"

namespace mosaic::gateway {
namespace {

constexpr size_t kPiecePage = 256;

}  // namespace

std::vector<std::string> OrphanLedger::Update(
    const std::string& node, const std::vector<std::string>& listed,
    const std::function<bool(const std::string&)>& referenced, Clock::time_point now,
    std::chrono::milliseconds grace) {
  auto& seen = first_seen_[node];
  std::unordered_map<std::string, Clock::time_point> next;
  std::vector<std::string> due;
  for (const std::string& chunk : listed) {
    if (referenced(chunk)) continue;
    auto it = seen.find(chunk);
    if (it == seen.end()) {
      next.emplace(chunk, now);  // a candidate from this sweep on: never due in this one
      continue;
    }
    next.emplace(chunk, it->second);
    if (now - it->second >= grace) due.push_back(chunk);
  }
  seen = std::move(next);
  if (seen.empty()) first_seen_.erase(node);
  return due;
}

void OrphanLedger::Forget(const std::string& node, const std::string& chunk) {
  auto it = first_seen_.find(node);
  if (it == first_seen_.end()) return;
  it->second.erase(chunk);
  if (it->second.empty()) first_seen_.erase(it);
}

size_t OrphanLedger::candidates() const {
  size_t n = 0;
  for (const auto& [node, chunks] : first_seen_) n += chunks.size();
  return n;
}

std::string SweepReportJson(const SweepReport& r) {
  return "{\"nodes_swept\": " + std::to_string(r.nodes_swept) +
         ", \"nodes_skipped\": " + std::to_string(r.nodes_skipped) +
         ", \"chunks_listed\": " + std::to_string(r.chunks_listed) +
         ", \"candidates\": " + std::to_string(r.candidates) +
         ", \"deleted\": " + std::to_string(r.deleted) + ", \"kept\": " + std::to_string(r.kept) +
         ", \"writes_in_flight\": " + std::to_string(r.writes_in_flight) +
         ", \"dead_writes\": " + std::to_string(r.dead_writes) + "}\n";
}

OrphanSweeper::OrphanSweeper(MetaStore& meta, client::Pipeline& pipeline,
                             metrics::Registry& registry, Options options)
    : Worker("orphan sweep", {.idle_wait = options.interval, .first_wait = options.interval}),
      meta_(meta),
      pipeline_(pipeline),
      options_(options),
      deleted_(registry.GetCounter("mosaic_gateway_orphans_deleted_total",
                                   "Chunks no metadata named, deleted by the orphan sweep.")),
      candidates_(registry.GetGauge(
          "mosaic_gateway_orphan_candidates",
          "Chunks no metadata named at the last sweep, waiting out the grace period.")),
      watch_(options.writer, options.writer_ttl) {}

absl::StatusOr<WorkResult> OrphanSweeper::Step() {
  ASSIGN_OR_RETURN(SweepReport report, Sweep(options_.grace));
  std::lock_guard lock(mu_);
  last_ = report;
  return WorkResult::Idle();
}

std::string OrphanSweeper::Detail() const {
  std::lock_guard lock(mu_);
  if (!last_) return "no sweep yet";
  return "last sweep: " + std::to_string(last_->nodes_swept) + " nodes, " +
         std::to_string(last_->deleted) + " chunks deleted, " + std::to_string(last_->candidates) +
         " candidates";
}

// Pieces first, then the deletion queue: a piece deleted after the scan passed it is in the
// queue by the time the queue is read (its removal and its queueing are one write), unless
// the deleter finished it already, and then its chunks are gone anyway.
absl::StatusOr<NodeChunks> OrphanSweeper::Referenced() const {
  NodeChunks out;
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(auto page, meta_.ListPieces(after, kPiecePage));
    for (const auto& [id, piece] : page) AddManifestChunks(pipeline_.ring(), piece.manifest(), out);
    if (page.size() < kPiecePage) break;
    after = page.back().first;
  }
  ASSIGN_OR_RETURN(auto deletions, meta_.PendingDeletions(std::numeric_limits<size_t>::max()));
  for (const auto& [seq, record] : deletions) {
    AddManifestChunks(pipeline_.ring(), record.manifest(), out);
  }
  // The metadata backup: the objects of the backups the state names (the backup job adds
  // them under the in-flight registry, which it leaves only after the state names them),
  // and the two root slots on every node.
  ASSIGN_OR_RETURN(auto backup, meta_.GetBackupState());
  if (backup) AddBackupChunks(pipeline_.ring(), *backup, out);
  for (int i = 0; i < pipeline_.pool().size(); ++i) {
    for (int slot = 0; slot < kRootSlots; ++slot) {
      const std::string& node = pipeline_.pool().node(i).id();
      out[node].insert(RootSlotChunkId(pipeline_.ring(), slot, node));
    }
  }
  return out;
}

absl::StatusOr<OrphanSweeper::Journal> OrphanSweeper::ReadJournal() {
  ASSIGN_OR_RETURN(std::vector<WriteInFlight> writes, meta_.WritesInFlight());
  ASSIGN_OR_RETURN(auto beats, meta_.WriterBeats());
  Journal out;
  auto now = WriterWatch::Clock::now();
  std::map<std::string, bool> dead;
  for (const WriteInFlight& w : writes) {
    auto [it, fresh] = dead.try_emplace(w.writer, false);
    if (fresh) it->second = watch_.Dead(w.writer, beats[w.writer], now);
    if (it->second) continue;
    client::ObjectId object{};
    if (w.object_id.size() != object.size()) continue;
    std::memcpy(object.data(), w.object_id.data(), object.size());
    ++out.writes;
    for (uint64_t stripe = 0; stripe < w.stripes; ++stripe) {
      for (uint32_t shard = 0; shard < w.shards; ++shard) {
        out.chunks.insert(client::ChunkIdString(
            pipeline_.ring().ComputeChunkId(object, stripe, static_cast<int>(shard))));
      }
    }
  }
  for (const auto& [writer, count] : beats) {  // writers without records that stopped
    if (!dead.contains(writer) && watch_.Dead(writer, count, now)) dead[writer] = true;
  }
  for (const auto& [writer, is_dead] : dead) {
    if (is_dead) out.dead.push_back(writer);
  }
  return out;
}

// The records of writers that stopped beating: their chunks are plain orphans from now on.
uint64_t OrphanSweeper::DropDeadWriters(const std::vector<std::string>& dead) {
  uint64_t dropped = 0;
  for (const std::string& writer : dead) {
    auto n = meta_.DropWriter(writer);
    if (!n.ok()) {
      spdlog::warn("orphan sweep: records of dead writer {} not dropped: {}", writer,
                   n.status().ToString());
      continue;
    }
    watch_.Forget(writer);
    dropped += *n;
    if (*n > 0) {
      spdlog::warn(
          "orphan sweep: writer {} stopped beating with {} writes in progress: their "
          "chunks are orphans now",
          writer, *n);
    }
  }
  return dropped;
}

uint64_t OrphanSweeper::DeleteChunks(const std::string& node,
                                     const std::vector<std::string>& chunks) {
  int index = pipeline_.pool().IndexOf(node);
  if (index < 0 || chunks.empty()) return 0;
  auto latch = std::make_shared<Latch>(static_cast<int>(chunks.size()));
  auto deleted = std::make_shared<std::atomic<uint64_t>>(0);
  for (const std::string& chunk : chunks) {
    pipeline_.pool().node(index).Delete(chunk, [latch, deleted](absl::StatusOr<bool> r) {
      if (r.ok()) ++*deleted;
      latch->Done();
    });
  }
  latch->Wait();
  return deleted->load();
}

absl::StatusOr<SweepReport> OrphanSweeper::Sweep(std::chrono::milliseconds grace) {
  std::lock_guard serial(sweep_mu_);
  SweepReport report;
  client::NodePool& pool = pipeline_.pool();
  // Listing before reading the metadata: a chunk written after its node was listed is not
  // looked at in this sweep at all.
  std::map<std::string, std::vector<std::string>> listed;
  for (int i = 0; i < pool.size(); ++i) {
    std::vector<std::string> all;
    std::string after;
    absl::Status failed;
    do {
      auto page = pool.node(i).List(after, options_.page_size);
      if (!page.ok()) {
        failed = page.status();
        break;
      }
      all.insert(all.end(), page->first.begin(), page->first.end());
      after = page->second;
    } while (!after.empty());
    if (!failed.ok()) {
      ++report.nodes_skipped;
      spdlog::warn("orphan sweep: node {} not swept: {}", pool.node(i).id(), failed.ToString());
      continue;
    }
    report.chunks_listed += all.size();
    listed[pool.node(i).id()] = std::move(all);
  }
  // The journal after the listing, before the metadata: see the header.
  ASSIGN_OR_RETURN(Journal journal, ReadJournal());
  report.writes_in_flight = journal.writes;
  ASSIGN_OR_RETURN(NodeChunks refs, Referenced());
  const client::InFlightChunks& in_flight = pipeline_.in_flight();
  auto now = OrphanLedger::Clock::now();
  std::map<std::string, std::vector<std::string>> due;
  for (const auto& [node, chunks] : listed) {
    const auto& named = refs[node];
    auto referenced = [&](const std::string& c) {
      return named.contains(c) || in_flight.Contains(c) || journal.chunks.contains(c);
    };
    std::vector<std::string> d = ledger_.Update(node, chunks, referenced, now, grace);
    if (!d.empty()) due[node] = std::move(d);
    ++report.nodes_swept;
  }
  if (!due.empty()) {
    // The last check: the registry first, then the metadata read again (see the header).
    for (auto& [node, chunks] : due) {
      std::erase_if(chunks, [&](const std::string& c) { return in_flight.Contains(c); });
    }
    ASSIGN_OR_RETURN(Journal now_journal, ReadJournal());
    for (auto& [node, chunks] : due) {
      std::erase_if(chunks, [&](const std::string& c) { return now_journal.chunks.contains(c); });
    }
    ASSIGN_OR_RETURN(NodeChunks now_refs, Referenced());
    for (auto& [node, chunks] : due) {
      size_t before = chunks.size();
      const auto& named = now_refs[node];
      std::erase_if(chunks, [&](const std::string& c) { return named.contains(c); });
      uint64_t deleted = DeleteChunks(node, chunks);
      report.deleted += deleted;
      report.kept += before - deleted;
      for (const std::string& c : chunks) ledger_.Forget(node, c);
    }
    deleted_.Inc(report.deleted);
  }
  report.dead_writes = DropDeadWriters(journal.dead);
  report.candidates = ledger_.candidates();
  candidates_.Set(double(report.candidates));
  spdlog::info("orphan sweep: {} nodes ({} skipped), {} chunks, {} candidates, {} deleted",
               report.nodes_swept, report.nodes_skipped, report.chunks_listed, report.candidates,
               report.deleted);
  return report;
}

}  // namespace mosaic::gateway
