#include "server/node/store/segment_store.h"

#include <spdlog/spdlog.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "common/crc32c.h"
#include "common/format_file.h"
#include "common/status.h"
#include "server/node/store/internal/store_impl.h"
#include "server/node/store/record.h"

namespace mosaic::node {

StoreMetrics::StoreMetrics(metrics::Registry& r)
    : batches(r.GetCounter("mosaic_node_commit_batches_total",
                           "Group commits: batches of puts made durable with one fdatasync.")),
      batch_puts(r.GetHistogram("mosaic_node_commit_batch_puts", "Puts per group commit.", {},
                                {1, 2, 4, 8, 16, 32, 64, 128, 256})),
      commit_seconds(
          r.GetHistogram("mosaic_node_commit_seconds", "Time to write and sync one batch.")),
      compacted_bytes(r.GetCounter("mosaic_node_compacted_bytes_total",
                                   "Record bytes copied out of sparse segments.")),
      segments_removed(r.GetCounter("mosaic_node_segments_removed_total",
                                    "Segment files removed after compaction.")),
      scrub_checked(r.GetCounter("mosaic_node_scrub_chunks_total", "Chunks checked by scrub.")),
      scrub_bytes(r.GetCounter("mosaic_node_scrub_bytes_total", "Bytes read by scrub.")),
      corrupt_found(r.GetCounter("mosaic_node_corrupt_chunks_total",
                                 "Chunks found failing their CRC32C (scrub or read).")) {}

AlignedBuffer BuildRecord(const std::string& tenant, const std::string& id, ConstByteSpan data,
                          uint32_t crc, uint64_t sequence, AlignedBuffer record) {
  size_t size = RecordSize(data.size());
  if (record.capacity() < size) record = AlignedBuffer::Uninitialized(size);
  record.Resize(size);
  if (!data.empty()) std::memcpy(record.data() + kRecordHeaderSize, data.data(), data.size());
  FrameRecord(tenant, id, data.size(), crc, sequence, record.span());
  return record;
}

void FrameRecord(const std::string& tenant, const std::string& id, size_t length, uint32_t crc,
                 uint64_t sequence, ByteSpan record) {
  EncodeRecordHeader({crc, length, sequence, id, tenant}, record.data());
  size_t end = kRecordHeaderSize + length;
  // The padding is part of the format.
  std::memset(record.data() + end, 0, RecordSize(length) - end);
}

AlignedBuffer BuildRecord(const std::string& tenant, const std::string& id, ConstByteSpan data,
                          uint32_t crc, uint64_t sequence) {
  return BuildRecord(tenant, id, data, crc, sequence, AlignedBuffer());
}

std::string SegmentStore::Impl::SegmentPath(uint64_t segment) const {
  return segments_dir + "/" + std::to_string(segment) + ".seg";
}

std::shared_ptr<io::File> SegmentStore::Impl::SegmentFile(uint64_t segment) const {
  std::lock_guard lock(segments_mu);
  auto it = segments.find(segment);
  return it == segments.end() ? nullptr : it->second;
}

absl::StatusOr<AlignedBuffer> SegmentStore::Impl::ReadRecord(const std::string& tenant,
                                                             const std::string& id,
                                                             const ChunkLocation& loc) {
  std::shared_ptr<io::File> file = SegmentFile(loc.segment);
  if (file == nullptr) {
    return absl::DataLossError("segment " + std::to_string(loc.segment) + " is missing");
  }
  AlignedBuffer record = AlignedBuffer::Uninitialized(RecordSize(loc.length));
  ASSIGN_OR_RETURN(size_t n, file->Read(loc.offset, record.span()));
  if (n < kRecordHeaderSize + loc.length) return absl::DataLossError("record is truncated");
  auto header = ParseRecordHeader(record.span());
  if (!header.ok()) return absl::DataLossError("record header: " + header.status().ToString());
  if (header->tenant != tenant || header->chunk_id != id || header->payload_length != loc.length ||
      header->payload_crc != loc.crc) {
    return absl::DataLossError("record header does not match the index");
  }
  if (Crc32c({record.data() + kRecordHeaderSize, loc.length}) != loc.crc) {
    return absl::DataLossError("chunk fails its CRC32C");
  }
  return record;
}

void SegmentStore::Impl::RecordFinding(const std::string& tenant, const std::string& id) {
  {
    std::lock_guard lock(stats_mu);
    if (!findings[tenant].insert(id).second) return;
  }
  metrics->corrupt_found.Inc();
  spdlog::error("chunk {} of tenant {} fails its CRC32C", HexEncode(AsBytes(id)), tenant);
  ChunkIndex::Batch batch;
  batch.PutFinding(tenant, id);
  if (auto s = index->Write(batch, false); !s.ok()) {
    spdlog::error("recording a scrub finding: {}", s.ToString());
  }
}

absl::Status SegmentStore::Impl::Recover() {
  ASSIGN_OR_RETURN(std::optional<Checkpoint> checkpoint, index->LoadCheckpoint());
  ASSIGN_OR_RETURN(segment_live, index->LoadSegmentLive());
  ASSIGN_OR_RETURN(StoredUsage stored, index->LoadUsage());
  usage = std::move(stored.usage);
  RETURN_IF_ERROR(RecomputeUsage(stored.legacy));
  ASSIGN_OR_RETURN(auto found, index->LoadFindings());
  for (auto& [tenant, id] : found) findings[tenant].insert(id);

  // Open every segment the index knows; remove files it does not (a rollover or a
  // compaction interrupted before its index write: they hold no indexed record).
  ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(segments_dir));
  for (const std::string& name : names) {
    uint64_t number = 0;
    if (!name.ends_with(".seg") ||
        !absl::SimpleAtoi(ToAbsl(std::string_view(name).substr(0, name.size() - 4)), &number)) {
      spdlog::warn("ignoring stray file {}/{}", segments_dir, name);
      continue;
    }
    bool active = checkpoint && checkpoint->segment == number;
    if (!segment_live.contains(number) && !active) {
      spdlog::warn("removing segment {} that the index does not reference", number);
      RETURN_IF_ERROR(fs->Remove(SegmentPath(number)));
      continue;
    }
    ASSIGN_OR_RETURN(std::unique_ptr<io::File> file, fs->Open(SegmentPath(number), false));
    ASSIGN_OR_RETURN(segment_size[number], file->Size());
    segments[number] = std::move(file);
  }
  for (const auto& [number, live] : segment_live) {
    if (!segments.contains(number) && !(checkpoint && checkpoint->segment == number)) {
      spdlog::error("segment {} is missing: its {} live bytes read as DATA_LOSS", number, live);
    }
  }
  if (!checkpoint) return Rollover();  // a new store
  return ReplayActive(*checkpoint);
}

// Charges the chunks of tenants whose usage an older node stored in payload bytes, once:
// a walk of their index entries, written back in the current format.
absl::Status SegmentStore::Impl::RecomputeUsage(const std::vector<std::string>& tenants) {
  constexpr size_t kPage = 10000;
  ChunkIndex::Batch batch;
  for (const std::string& tenant : tenants) {
    TenantUsage u;
    std::string after;
    for (;;) {
      ASSIGN_OR_RETURN(std::vector<ChunkEntry> page, index->List(tenant, after, kPage));
      for (const ChunkEntry& e : page) u.bytes += ChargedSize(e.location.length);
      u.chunks += page.size();
      if (page.size() < kPage) break;
      after = page.back().chunk_id;
    }
    usage[tenant] = u;
    batch.SetUsage(tenant, u);
    spdlog::info("tenant {}: usage now charged per record and index entry: {} bytes, {} chunks",
                 tenant, u.bytes, u.chunks);
  }
  return batch.count() > 0 ? index->Write(batch, /*sync=*/true) : absl::OkStatus();
}

// Re-indexes the records written after the checkpoint. Every record before the first bad
// one was synced before anything after it was written, so stopping there loses no
// acknowledged put; what follows is a torn batch and is cut off.
absl::Status SegmentStore::Impl::ReplayActive(const Checkpoint& checkpoint) {
  active_segment = checkpoint.segment;
  next_sequence = checkpoint.next_sequence;
  std::shared_ptr<io::File> file = SegmentFile(active_segment);
  if (file == nullptr) {
    spdlog::error("active segment {} is missing; starting a new one", active_segment);
    return Rollover();
  }
  ASSIGN_OR_RETURN(uint64_t file_size, file->Size());
  uint64_t pos = checkpoint.offset;
  ChunkIndex::Batch batch;
  size_t replayed = 0;
  AlignedBuffer head(kDirectIoAlignment);
  while (pos + kDirectIoAlignment <= file_size) {
    auto n = file->Read(pos, head.span());
    if (!n.ok() || *n < kRecordHeaderSize) break;
    auto header = ParseRecordHeader(head.span());
    if (absl::IsFailedPrecondition(header.status())) {  // newer format: keep it, refuse
      return absl::FailedPreconditionError("segment " + std::to_string(active_segment) + " at " +
                                           std::to_string(pos) + ": " +
                                           std::string(header.status().message()));
    }
    if (!header.ok() || header->sequence < next_sequence) break;
    uint64_t size = RecordSize(header->payload_length);
    if (pos + size > file_size) break;
    ChunkLocation loc{active_segment, pos, header->payload_length, header->payload_crc};
    if (!ReadRecord(header->tenant, header->chunk_id, loc).ok()) break;
    auto old = index->Find(header->tenant, header->chunk_id);
    RETURN_IF_ERROR(old.status());
    if (*old) {  // a compaction copy, or a heal of a corrupt record: repoint
      batch.MoveChunk(header->tenant, header->chunk_id, **old, loc);
      segment_live[(*old)->segment] -=
          std::min(segment_live[(*old)->segment], RecordSize((*old)->length));
    } else {
      batch.PutChunk(header->tenant, header->chunk_id, loc);
      usage[header->tenant].bytes += ChargedSize(loc.length);
      usage[header->tenant].chunks += 1;
      batch.SetUsage(header->tenant, usage[header->tenant]);
    }
    segment_live[active_segment] += size;
    pos += size;
    next_sequence = header->sequence + 1;
    ++replayed;
  }
  if (pos < file_size) {
    spdlog::warn("segment {}: discarding {} bytes after the last complete record", active_segment,
                 file_size - pos);
    RETURN_IF_ERROR(file->Truncate(pos));
  }
  for (const auto& [segment, live] : segment_live) batch.SetSegmentLive(segment, live);
  batch.SetCheckpoint({active_segment, pos, next_sequence});
  RETURN_IF_ERROR(index->Write(batch, true));
  active_end = pos;
  segment_size.erase(active_segment);
  if (replayed > 0) spdlog::info("recovered {} records from segment {}", replayed, active_segment);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<SegmentStore>> SegmentStore::Open(StoreOptions options,
                                                                 io::FileSystem* fs) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->fs = fs;
  if (impl->options.metrics == nullptr) {
    impl->own_metrics = std::make_unique<metrics::Registry>();
    impl->options.metrics = impl->own_metrics.get();
  }
  impl->metrics = std::make_unique<StoreMetrics>(*impl->options.metrics);
  impl->segments_dir = impl->options.dir + "/segments";
  RETURN_IF_ERROR(fs->CreateDir(impl->options.dir));
  RETURN_IF_ERROR(fs->CreateDir(impl->segments_dir));
  // The index's keys have no version of their own: index/FORMAT carries it (version 1 since
  // the first node; docs/formats/segment.md lists the keys).
  RETURN_IF_ERROR(CheckFormatFile(impl->options.dir + "/index", "node index", 1));
  ASSIGN_OR_RETURN(impl->index, ChunkIndex::Open(impl->options.dir + "/index"));
  RETURN_IF_ERROR(impl->Recover());

  Impl* raw = impl.get();
  raw->writer = std::thread([raw] { raw->WriterLoop(); });
  for (int i = 0; i < std::max(1, raw->options.reader_threads); ++i) {
    raw->readers.emplace_back([raw] { raw->ReaderLoop(); });
  }
  if (raw->options.scrub_bytes_per_second > 0) {
    raw->scrubber = std::thread([raw] { raw->ScrubLoop(); });
  }
  return std::unique_ptr<SegmentStore>(new SegmentStore(std::move(impl)));
}

SegmentStore::SegmentStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SegmentStore::~SegmentStore() { Close(); }

namespace {

absl::Status CheckNames(const std::string& tenant, const std::string& id) {
  if (id.empty() || id.size() > kMaxChunkIdSize) {
    return absl::InvalidArgumentError("chunk id must be 1 to 64 bytes");
  }
  if (tenant.empty() || tenant.size() > kMaxTenantSize) {
    return absl::InvalidArgumentError("tenant name must be 1 to 64 bytes");
  }
  return absl::OkStatus();
}

absl::Status Closing() { return absl::UnavailableError("the node is shutting down"); }

}  // namespace

void SegmentStore::Put(std::string tenant, std::string id, ConstByteSpan data, TenantLimits limits,
                       PutDone done, std::optional<uint32_t> crc) {
  impl_->EnqueuePut(
      PutTask{std::move(tenant), std::move(id), data, limits, std::move(done), crc, {}});
}

void SegmentStore::PutInPlace(std::string tenant, std::string id, ByteSpan record, size_t length,
                              TenantLimits limits, PutDone done, std::optional<uint32_t> crc) {
  if (length == 0) record = {};  // refused as an empty chunk
  if (length > 0 && (record.size() < RecordSize(length) ||
                     reinterpret_cast<uintptr_t>(record.data()) % kDirectIoAlignment != 0)) {
    return done(absl::InvalidArgumentError("the record buffer is too small or misaligned"));
  }
  ConstByteSpan data = length > 0 ? record.subspan(kRecordHeaderSize, length) : ConstByteSpan();
  impl_->EnqueuePut(PutTask{std::move(tenant), std::move(id), data, limits, std::move(done), crc,
                            length > 0 ? record.first(RecordSize(length)) : ByteSpan()});
}

void SegmentStore::Impl::EnqueuePut(PutTask task) {
  if (auto s = CheckNames(task.tenant, task.id); !s.ok()) return task.done(s);
  // Nothing writes empty chunks (a sealed shard carries at least its tag), and each would
  // still cost a record and index entries.
  if (task.data.empty()) return task.done(absl::InvalidArgumentError("empty chunk"));
  if (task.data.size() > options.max_chunk_bytes) {
    return task.done(absl::InvalidArgumentError("chunk of " + std::to_string(task.data.size()) +
                                                " bytes is over the node's maximum of " +
                                                std::to_string(options.max_chunk_bytes)));
  }
  {
    std::lock_guard lock(write_mu);
    if (closing) return task.done(Closing());
    write_queue.push_back(std::move(task));
  }
  write_cv.notify_one();
}

void SegmentStore::Delete(std::string tenant, std::string id, DeleteDone done) {
  if (auto s = CheckNames(tenant, id); !s.ok()) return done(s);
  {
    std::lock_guard lock(impl_->write_mu);
    if (impl_->closing) return done(Closing());
    impl_->write_queue.push_back(DeleteTask{std::move(tenant), std::move(id), std::move(done)});
  }
  impl_->write_cv.notify_one();
}

namespace {

template <typename Task>
void QueueRead(SegmentStore::Impl& impl, Task task) {
  {
    std::lock_guard lock(impl.read_mu);
    if (!impl.closing) {
      impl.read_queue.push_back(std::move(task));
      task.done = nullptr;
    }
  }
  if (task.done) return task.done(Closing());
  impl.read_cv.notify_one();
}

}  // namespace

void SegmentStore::Get(std::string tenant, std::string id, uint64_t offset, uint64_t length,
                       GetDone done) {
  if (auto s = CheckNames(tenant, id); !s.ok()) return done(s);
  QueueRead(*impl_, GetTask{std::move(tenant), std::move(id), offset, length, std::move(done)});
}

void SegmentStore::Stat(std::string tenant, std::string id, StatDone done) {
  if (auto s = CheckNames(tenant, id); !s.ok()) return done(s);
  QueueRead(*impl_, StatTask{std::move(tenant), std::move(id), std::move(done)});
}

void SegmentStore::List(std::string tenant, std::string after, size_t limit, ListDone done) {
  QueueRead(*impl_, ListTask{std::move(tenant), std::move(after), limit, std::move(done)});
}

TenantUsage SegmentStore::Impl::UsageOf(const std::string& tenant) const {
  std::lock_guard lock(stats_mu);
  auto it = usage.find(tenant);
  return it == usage.end() ? TenantUsage{} : it->second;
}

TenantUsage SegmentStore::Usage(const std::string& tenant) const { return impl_->UsageOf(tenant); }

uint64_t SegmentStore::TotalUsedBytes() const {
  std::lock_guard lock(impl_->stats_mu);
  uint64_t total = 0;
  for (const auto& [tenant, u] : impl_->usage) total += u.bytes;
  return total;
}

std::vector<std::string> SegmentStore::CorruptChunks(const std::string& tenant) const {
  std::lock_guard lock(impl_->stats_mu);
  auto it = impl_->findings.find(tenant);
  if (it == impl_->findings.end()) return {};
  return {it->second.begin(), it->second.end()};
}

ScrubStats SegmentStore::Scrub() const {
  std::lock_guard lock(impl_->stats_mu);
  return impl_->scrub;
}

size_t SegmentStore::SegmentCount() const {
  std::lock_guard lock(impl_->segments_mu);
  return impl_->segments.size();
}

void SegmentStore::Close() {
  if (impl_->closed.exchange(true)) return;
  {
    std::scoped_lock lock(impl_->write_mu, impl_->read_mu, impl_->scrub_mu);
    impl_->closing = true;
  }
  impl_->write_cv.notify_all();
  impl_->read_cv.notify_all();
  impl_->scrub_cv.notify_all();
  if (impl_->writer.joinable()) impl_->writer.join();
  for (auto& t : impl_->readers) t.join();
  if (impl_->scrubber.joinable()) impl_->scrubber.join();
  ChunkIndex::Batch batch;
  batch.SetCheckpoint({impl_->active_segment, impl_->active_end, impl_->next_sequence});
  if (auto s = impl_->index->Write(batch, true); !s.ok()) {
    spdlog::error("closing the index: {}", s.ToString());
  }
}

}  // namespace mosaic::node
