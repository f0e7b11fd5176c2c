// The writer thread: group commit of puts, deletes, segment rollover and compaction.
// Orderings that keep acknowledged data safe (docs/architecture.md explains them):
//  1. records are written and fdatasync'ed before the index learns of them, and before any
//     put is acknowledged;
//  2. a new segment is created, its folder synced, and the checkpoint moved to it (synced)
//     before any record is written to it, so recovery always knows which file to replay;
//  3. deletes are synced in the index before they are acknowledged; because RocksDB's log
//     is ordered, that also makes every earlier index write durable;
//  4. a compacted segment's file is removed only after the index (synced) no longer
//     references it.

#include <spdlog/spdlog.h>

#include <chrono>

#include "common/crc32c.h"
#include "common/status.h"
#include "server/node/store/internal/store_impl.h"
#include "server/node/store/record.h"

namespace mosaic::node {
namespace {

constexpr uint64_t kCompactionStepBytes = uint64_t{16} << 20;
constexpr int kBatchesBetweenCompactionSteps = 8;
constexpr std::chrono::seconds kCompactionRetryDelay{5};

}  // namespace

void SegmentStore::Impl::WriterLoop() {
  int batches_since_compaction = 0;
  std::chrono::steady_clock::time_point compaction_retry_at;
  while (true) {
    std::deque<WriteTask> tasks;
    {
      std::unique_lock lock(write_mu);
      auto has_work = [&] { return !write_queue.empty() || closing; };
      if (!has_work()) {
        if (!CompactionCandidate()) {
          write_cv.wait(lock, has_work);
        } else if (std::chrono::steady_clock::now() < compaction_retry_at) {
          write_cv.wait_until(lock, compaction_retry_at, has_work);
        }
      }
      if (write_queue.empty() && closing) return;
      uint64_t bytes = 0;
      while (!write_queue.empty() && tasks.size() < options.max_batch_ops &&
             bytes < options.max_batch_bytes) {
        if (auto* put = std::get_if<PutTask>(&write_queue.front())) bytes += put->data.size();
        tasks.push_back(std::move(write_queue.front()));
        write_queue.pop_front();
      }
    }
    // Consecutive puts form one group commit; consecutive deletes one index write. Order
    // between them is kept.
    while (!tasks.empty()) {
      if (std::holds_alternative<PutTask>(tasks.front())) {
        std::vector<PutTask> puts;
        while (!tasks.empty() && std::holds_alternative<PutTask>(tasks.front())) {
          puts.push_back(std::move(std::get<PutTask>(tasks.front())));
          tasks.pop_front();
        }
        ProcessPuts(puts);
      } else {
        std::vector<DeleteTask> deletes;
        while (!tasks.empty() && std::holds_alternative<DeleteTask>(tasks.front())) {
          deletes.push_back(std::move(std::get<DeleteTask>(tasks.front())));
          tasks.pop_front();
        }
        ProcessDeletes(deletes);
      }
    }
    bool idle;
    {
      std::lock_guard lock(write_mu);
      idle = write_queue.empty();
    }
    if ((idle || ++batches_since_compaction >= kBatchesBetweenCompactionSteps) &&
        CompactionCandidate() && std::chrono::steady_clock::now() >= compaction_retry_at) {
      batches_since_compaction = 0;
      if (auto s = CompactStep(); !s.ok()) {
        spdlog::error("compaction: {}; retrying in {} s", s.ToString(),
                      kCompactionRetryDelay.count());
        compaction_retry_at = std::chrono::steady_clock::now() + kCompactionRetryDelay;
      }
    }
  }
}

// Free space the puts of one call may take: measured once per call (statvfs and the index's
// size are not free at thousands of puts per second), less the reserve and the index's
// headroom. 0 when the file system cannot say.
uint64_t SegmentStore::Impl::SpaceBudget() {
  auto space = fs->GetSpace(options.dir);
  if (!space.ok()) return 0;
  uint64_t reserve = options.reserved_free_bytes + options.index_headroom_bytes +
                     (options.index_headroom_bytes > 0 ? 2 * index->ApproximateSizeBytes() : 0);
  return space->free_bytes > reserve ? space->free_bytes - reserve : 0;
}

void SegmentStore::Impl::ProcessPuts(std::vector<PutTask>& puts) {
  space_budget = SpaceBudget();
  std::vector<StagedPut> staged;
  std::map<std::string, TenantUsage> pending_usage;
  uint64_t batch_bytes = 0;
  for (PutTask& task : puts) {
    bool created = false;
    absl::Status s = StagePut(task, staged, batch_bytes, pending_usage, created);
    if (!s.ok()) {
      task.done(s);
    } else if (!created) {
      task.done(PutResult{false, Crc32c(task.data)});
    }
  }
  if (!staged.empty()) CommitPuts(staged, pending_usage);
}

// RESOURCE_EXHAUSTED if one more chunk of this size would take the tenant over its quota
// (in charged bytes: record and index, not payload) or its chunk count limit.
absl::Status SegmentStore::Impl::CheckLimits(
    const PutTask& task, const std::map<std::string, TenantUsage>& pending_usage) const {
  auto pending = pending_usage.find(task.tenant);
  TenantUsage u = pending != pending_usage.end() ? pending->second : UsageOf(task.tenant);
  const TenantLimits& limits = task.limits;
  if (limits.quota_bytes > 0 && u.bytes + ChargedSize(task.data.size()) > limits.quota_bytes) {
    return absl::ResourceExhaustedError(
        "tenant " + task.tenant + " is over its quota of " + std::to_string(limits.quota_bytes) +
        " bytes (a chunk is charged its record on disk and its index entries)");
  }
  if (limits.max_chunks > 0 && u.chunks + 1 > limits.max_chunks) {
    return absl::ResourceExhaustedError("tenant " + task.tenant + " has its maximum of " +
                                        std::to_string(limits.max_chunks) + " chunks");
  }
  return absl::OkStatus();
}

// Decides what to do with one put: fail it, answer it as already stored (created = false),
// or serialise its record into `staged`. A record that would not fit the active segment
// first commits what is staged and rolls over to a new segment.
absl::Status SegmentStore::Impl::StagePut(PutTask& task, std::vector<StagedPut>& staged,
                                          uint64_t& batch_bytes,
                                          std::map<std::string, TenantUsage>& pending_usage,
                                          bool& created) {
  uint32_t crc = task.crc ? *task.crc : Crc32c(task.data);
  for (StagedPut& other : staged) {
    if (other.task.tenant == task.tenant && other.task.id == task.id) {
      if (other.location.crc != crc || other.task.data.size() != task.data.size() ||
          !std::equal(task.data.begin(), task.data.end(), other.task.data.begin())) {
        return absl::AlreadyExistsError("chunk is being written with other bytes");
      }
      // The same bytes are in this batch: answer when they are durable.
      other.followers.push_back(std::move(task));
      created = true;
      return absl::OkStatus();
    }
  }
  ASSIGN_OR_RETURN(std::optional<ChunkLocation> existing, index->Find(task.tenant, task.id));
  std::optional<ChunkLocation> replaces;
  if (existing) {
    if (existing->length != task.data.size() || existing->crc != crc) {
      return absl::AlreadyExistsError("chunk exists with other bytes");
    }
    auto stored = ReadRecord(task.tenant, task.id, *existing);
    if (stored.ok()) {
      ConstByteSpan old{stored->data() + kRecordHeaderSize, existing->length};
      if (!std::equal(old.begin(), old.end(), task.data.begin())) {
        return absl::AlreadyExistsError("chunk exists with other bytes");
      }
      created = false;
      return absl::OkStatus();
    }
    if (stored.status().code() != absl::StatusCode::kDataLoss) return stored.status();
    replaces = existing;  // the stored copy is corrupt and these bytes match its CRC: heal
  }

  if (!replaces) RETURN_IF_ERROR(CheckLimits(task, pending_usage));
  uint64_t size = RecordSize(task.data.size());
  if (size > space_budget) return absl::ResourceExhaustedError("the node's disk is full");
  if (active_end + size > options.segment_size_bytes && active_end > 0) {
    if (!staged.empty()) {
      CommitPuts(staged, pending_usage);
      staged.clear();
      batch_bytes = 0;
      // Committed usage is now in `usage`; a failed commit must not leak into later puts.
      pending_usage.clear();
    }
    RETURN_IF_ERROR(Rollover());
  }
  TenantUsage& u = pending_usage.try_emplace(task.tenant, UsageOf(task.tenant)).first->second;
  uint64_t offset = active_end + batch_bytes;
  StagedPut put{
      std::move(task), {active_segment, offset, 0, crc}, replaces, AlignedBuffer(), {}, {}};
  put.location.length = put.task.data.size();
  if (!put.task.record_space.empty()) {  // PutInPlace: the payload is in the record already
    FrameRecord(put.task.tenant, put.task.id, put.location.length, crc, next_sequence++,
                put.task.record_space);
    put.bytes = put.task.record_space;
  } else {
    put.record = BuildRecord(put.task.tenant, put.task.id, put.task.data, crc, next_sequence++,
                             record_pool.Take(RecordSize(put.task.data.size())));
    put.bytes = put.record.span();
  }
  if (!replaces) {
    u.bytes += ChargedSize(put.location.length);
    u.chunks += 1;
  }
  batch_bytes += size;
  space_budget -= size;
  staged.push_back(std::move(put));
  created = true;
  return absl::OkStatus();
}

void SegmentStore::Impl::CommitPuts(std::vector<StagedPut>& staged,
                                    const std::map<std::string, TenantUsage>& pending_usage) {
  auto start = std::chrono::steady_clock::now();
  std::vector<io::WriteOp> ops;
  uint64_t end = active_end;
  for (const StagedPut& p : staged) {
    ops.push_back({p.location.offset, p.bytes});
    end = p.location.offset + p.bytes.size();
  }
  std::shared_ptr<io::File> file = SegmentFile(active_segment);
  absl::Status s = file->Write(ops, /*sync=*/true);
  ChunkIndex::Batch batch;
  std::map<uint64_t, uint64_t> live = segment_live;
  if (s.ok()) {
    for (const StagedPut& p : staged) {
      if (p.replaces) {
        batch.MoveChunk(p.task.tenant, p.task.id, *p.replaces, p.location);
        live[p.replaces->segment] -= RecordSize(p.replaces->length);
        batch.SetSegmentLive(p.replaces->segment, live[p.replaces->segment]);
        batch.DeleteFinding(p.task.tenant, p.task.id);
      } else {
        batch.PutChunk(p.task.tenant, p.task.id, p.location);
      }
      live[active_segment] += p.bytes.size();
    }
    for (const auto& [tenant, u] : pending_usage) batch.SetUsage(tenant, u);
    batch.SetSegmentLive(active_segment, live[active_segment]);
    batch.SetCheckpoint({active_segment, end, next_sequence});
    s = index->Write(batch, /*sync=*/false);
    if (s.ok()) active_end = end;
  }
  if (!s.ok()) {
    // Nothing of this batch is acknowledged or indexed: cut the file back so that the
    // next batch overwrites the partial records, and give back the sequence numbers.
    spdlog::error("writing a batch of {} puts: {}", staged.size(), s.ToString());
    if (auto t = file->Truncate(active_end); !t.ok()) {
      spdlog::error("truncating segment {} after a failed write: {}", active_segment, t.ToString());
    }
    next_sequence -= staged.size();
    if (s.code() != absl::StatusCode::kResourceExhausted) {
      s = absl::UnavailableError("the node failed to store the chunk: " + s.ToString());
    }
    for (StagedPut& p : staged) {
      p.task.done(s);
      for (PutTask& f : p.followers) f.done(s);
      record_pool.Give(std::move(p.record));
    }
    return;
  }
  {
    std::lock_guard lock(stats_mu);
    for (const auto& [tenant, u] : pending_usage) usage[tenant] = u;
    for (const StagedPut& p : staged) {
      if (p.replaces) findings[p.task.tenant].erase(p.task.id);
    }
  }
  segment_live = std::move(live);
  metrics->batches.Inc();
  metrics->batch_puts.Observe(static_cast<double>(staged.size()));
  metrics->commit_seconds.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  for (StagedPut& p : staged) {
    p.task.done(PutResult{true, p.location.crc});
    for (PutTask& f : p.followers) f.done(PutResult{false, p.location.crc});
    record_pool.Give(std::move(p.record));
  }
}

void SegmentStore::Impl::ProcessDeletes(std::vector<DeleteTask>& deletes) {
  ChunkIndex::Batch batch;
  std::map<std::string, TenantUsage> new_usage;
  std::map<uint64_t, uint64_t> live = segment_live;
  std::vector<std::pair<DeleteTask*, bool>> results;
  std::set<std::pair<std::string, std::string>> gone;  // deleted earlier in this batch
  for (DeleteTask& d : deletes) {
    auto loc = index->Find(d.tenant, d.id);
    if (!loc.ok()) {
      d.done(loc.status());
      continue;
    }
    if (!*loc || gone.contains({d.tenant, d.id})) {
      results.emplace_back(&d, false);
      continue;
    }
    gone.insert({d.tenant, d.id});
    batch.DeleteChunk(d.tenant, d.id, **loc);
    batch.DeleteFinding(d.tenant, d.id);
    TenantUsage& u = new_usage.try_emplace(d.tenant, UsageOf(d.tenant)).first->second;
    u.bytes -= std::min(u.bytes, ChargedSize((*loc)->length));
    u.chunks -= std::min<uint64_t>(u.chunks, 1);
    live[(*loc)->segment] -= std::min(live[(*loc)->segment], RecordSize((*loc)->length));
    batch.SetSegmentLive((*loc)->segment, live[(*loc)->segment]);
    results.emplace_back(&d, true);
  }
  for (const auto& [tenant, u] : new_usage) batch.SetUsage(tenant, u);
  absl::Status s = batch.count() > 0 ? index->Write(batch, /*sync=*/true) : absl::OkStatus();
  if (!s.ok()) {
    for (auto& [d, existed] : results) d->done(s);
    return;
  }
  {
    std::lock_guard lock(stats_mu);
    for (const auto& [tenant, u] : new_usage) usage[tenant] = u;
    for (const auto& [tenant, id] : gone) findings[tenant].erase(id);
  }
  segment_live = std::move(live);
  for (auto& [d, existed] : results) d->done(existed);
}

absl::Status SegmentStore::Impl::Rollover() {
  uint64_t next = active_segment + 1;
  {
    std::lock_guard lock(segments_mu);
    if (!segments.empty()) next = std::max(next, segments.rbegin()->first + 1);
  }
  ASSIGN_OR_RETURN(std::unique_ptr<io::File> file, fs->Open(SegmentPath(next), true));
  RETURN_IF_ERROR(fs->SyncDir(segments_dir));
  ChunkIndex::Batch batch;
  batch.SetSegmentLive(next, 0);
  batch.SetCheckpoint({next, 0, next_sequence});
  RETURN_IF_ERROR(index->Write(batch, /*sync=*/true));
  {
    std::lock_guard lock(segments_mu);
    segments[next] = std::move(file);
  }
  if (active_segment != 0) segment_size[active_segment] = active_end;
  segment_live[next] = 0;
  active_segment = next;
  active_end = 0;
  spdlog::debug("started segment {}", next);
  return absl::OkStatus();
}

// The sealed segment with the smallest live share under the threshold, if any.
std::optional<uint64_t> SegmentStore::Impl::CompactionCandidate() const {
  std::optional<uint64_t> best;
  double best_share = options.compact_below;
  for (const auto& [segment, size] : segment_size) {
    if (segment == active_segment) continue;
    auto it = segment_live.find(segment);
    uint64_t live = it == segment_live.end() ? 0 : it->second;
    double share = size == 0 ? 0 : static_cast<double>(live) / static_cast<double>(size);
    if (share < best_share || (live == 0 && !best)) {
      best = segment;
      best_share = share;
    }
  }
  return best;
}

// Copies up to kCompactionStepBytes of the candidate's live records to the active segment,
// then drops the segment once nothing in it is live. Records are copied as they are, without
// re-checking their CRC, so a corrupt chunk stays detectably corrupt.
absl::Status SegmentStore::Impl::CompactStep() {
  std::optional<uint64_t> segment = CompactionCandidate();
  if (!segment) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<RecordRef> refs, index->ScanRecords(*segment, 0, 64));
  std::shared_ptr<io::File> old_file = SegmentFile(*segment);
  uint64_t copied = 0;
  std::vector<io::WriteOp> ops;
  std::vector<AlignedBuffer> buffers;
  ChunkIndex::Batch batch;
  std::map<uint64_t, uint64_t> live = segment_live;
  for (const RecordRef& ref : refs) {
    if (ref.segment != *segment || copied >= kCompactionStepBytes || old_file == nullptr) break;
    ASSIGN_OR_RETURN(std::optional<ChunkLocation> loc, index->Find(ref.tenant, ref.chunk_id));
    if (!loc || loc->segment != ref.segment || loc->offset != ref.offset) continue;
    uint64_t size = RecordSize(loc->length);
    if (active_end + copied + size > options.segment_size_bytes) {
      if (copied > 0) break;
      RETURN_IF_ERROR(Rollover());
    }
    AlignedBuffer record(size);
    record.Resize(record.capacity());
    ASSIGN_OR_RETURN(size_t n, old_file->Read(loc->offset, record.span()));
    if (n < kRecordHeaderSize + loc->length) std::memset(record.data() + n, 0, size - n);
    EncodeRecordHeader({loc->crc, loc->length, next_sequence++, ref.chunk_id, ref.tenant},
                       record.data());
    ChunkLocation to{active_segment, active_end + copied, loc->length, loc->crc};
    batch.MoveChunk(ref.tenant, ref.chunk_id, *loc, to);
    live[*segment] -= std::min(live[*segment], size);
    live[active_segment] += size;
    ops.push_back({to.offset, record.span()});
    buffers.push_back(std::move(record));
    copied += size;
  }
  if (copied > 0) {
    RETURN_IF_ERROR(SegmentFile(active_segment)->Write(ops, /*sync=*/true));
    batch.SetSegmentLive(*segment, live[*segment]);
    batch.SetSegmentLive(active_segment, live[active_segment]);
    batch.SetCheckpoint({active_segment, active_end + copied, next_sequence});
    RETURN_IF_ERROR(index->Write(batch, /*sync=*/false));
    active_end += copied;
    segment_live = std::move(live);
    metrics->compacted_bytes.Inc(copied);
    return absl::OkStatus();
  }
  return DropSegment(*segment);  // nothing live is left in it
}

absl::Status SegmentStore::Impl::DropSegment(uint64_t segment) {
  ChunkIndex::Batch batch;
  batch.DeleteSegment(segment);
  RETURN_IF_ERROR(index->Write(batch, /*sync=*/true));
  segment_live.erase(segment);
  segment_size.erase(segment);
  {
    std::lock_guard lock(segments_mu);
    segments.erase(segment);
  }
  RETURN_IF_ERROR(fs->Remove(SegmentPath(segment)));
  RETURN_IF_ERROR(fs->SyncDir(segments_dir));
  metrics->segments_removed.Inc();
  spdlog::info("removed segment {} after compaction", segment);
  return absl::OkStatus();
}

}  // namespace mosaic::node
