// Reader threads (gets, stats, lists) and the scrub thread. Each runs its own io_uring
// (io::FileSystem gives every thread its own ring).

#include <spdlog/spdlog.h>

#include <chrono>

#include "common/buffer_pool.h"
#include "common/crc32c.h"
#include "common/status.h"
#include "server/node/store/internal/store_impl.h"
#include "server/node/store/record.h"

namespace mosaic::node {
namespace {

constexpr size_t kMaxGetsPerSubmission = 16;
constexpr size_t kScrubPageSize = 64;

}  // namespace

void SegmentStore::Impl::ReaderLoop() {
  while (true) {
    std::vector<GetTask> gets;
    std::vector<ReadTask> others;
    {
      std::unique_lock lock(read_mu);
      read_cv.wait(lock, [&] { return !read_queue.empty() || closing; });
      if (read_queue.empty()) return;  // closing and drained
      while (!read_queue.empty() && gets.size() < kMaxGetsPerSubmission) {
        if (auto* get = std::get_if<GetTask>(&read_queue.front())) {
          gets.push_back(std::move(*get));
        } else {
          others.push_back(std::move(read_queue.front()));
        }
        read_queue.pop_front();
      }
    }
    if (!gets.empty()) ServeGets(gets);
    for (ReadTask& task : others) {
      if (auto* stat = std::get_if<StatTask>(&task)) {
        auto loc = index->Find(stat->tenant, stat->id);
        if (!loc.ok()) {
          stat->done(loc.status());
        } else if (!*loc) {
          stat->done(absl::NotFoundError("no such chunk"));
        } else {
          stat->done(**loc);
        }
      } else if (auto* list = std::get_if<ListTask>(&task)) {
        list->done(index->List(list->tenant, list->after, list->limit));
      }
    }
  }
}

// Looks every get up in the index, submits all their record reads at once, then checks and
// answers each. A chunk whose segment vanished (compacted meanwhile) is looked up again.
void SegmentStore::Impl::ServeGets(std::vector<GetTask>& gets) {
  struct Pending {
    GetTask* task;
    ChunkLocation loc;
    std::shared_ptr<io::File> file;
    AlignedBuffer record;
  };
  std::vector<Pending> pending;
  // Record buffers come from the process-wide pool: a successful get hands its buffer on to
  // the caller (GetResult), which gives it back once sent.
  mosaic::BufferPool& pool = mosaic::BufferPool::Global();
  for (GetTask& g : gets) {
    std::shared_ptr<io::File> file;
    std::optional<ChunkLocation> loc;
    absl::Status lookup;
    for (int attempt = 0; attempt < 2 && file == nullptr; ++attempt) {
      auto found = index->Find(g.tenant, g.id);
      if (!found.ok()) {
        lookup = found.status();
        break;
      }
      loc = *found;
      if (!loc) break;
      file = SegmentFile(loc->segment);
    }
    if (!lookup.ok()) {
      g.done(lookup);
    } else if (!loc) {
      g.done(absl::NotFoundError("no such chunk"));
    } else if (g.offset > loc->length) {
      g.done(absl::InvalidArgumentError("offset " + std::to_string(g.offset) +
                                        " is past the end of a " + std::to_string(loc->length) +
                                        "-byte chunk"));
    } else if (file == nullptr) {
      g.done(absl::DataLossError("the chunk's segment file is missing"));
    } else {
      pending.push_back({&g, *loc, std::move(file), pool.Take(RecordSize(loc->length))});
    }
  }
  std::vector<io::ReadOp> ops;
  for (Pending& p : pending) ops.push_back({p.file.get(), p.loc.offset, p.record.span()});
  fs->ReadBatch(ops);
  for (size_t i = 0; i < pending.size(); ++i) {
    Pending& p = pending[i];
    GetTask& g = *p.task;
    absl::Status s = ops[i].result.status();
    if (s.ok() && *ops[i].result < kRecordHeaderSize + p.loc.length) {
      s = absl::DataLossError("record is truncated");
    }
    if (s.ok()) {
      auto header = ParseRecordHeader(p.record.span());
      bool matches = header.ok() && header->tenant == g.tenant && header->chunk_id == g.id &&
                     header->payload_length == p.loc.length && header->payload_crc == p.loc.crc;
      const std::byte* payload = p.record.data() + kRecordHeaderSize;
      if (!matches || Crc32c({payload, p.loc.length}) != p.loc.crc) {
        s = absl::DataLossError("chunk fails its CRC32C check");
      }
    }
    if (!s.ok()) {
      if (s.code() == absl::StatusCode::kDataLoss) RecordFinding(g.tenant, g.id);
      g.done(s);
      continue;
    }
    uint64_t available = p.loc.length - g.offset;
    uint64_t n = g.length == 0 ? available : std::min(g.length, available);
    GetResult result;
    result.record = std::move(p.record);
    result.data_offset = kRecordHeaderSize + g.offset;
    result.data_length = n;
    result.chunk_length = p.loc.length;
    result.chunk_crc = p.loc.crc;
    g.done(std::move(result));
  }
  for (Pending& p : pending) pool.Give(std::move(p.record));  // those of failed gets
}

// Waits `d` or until Close(); returns false when closing.
bool SegmentStore::Impl::ScrubWait(std::chrono::milliseconds d) {
  std::unique_lock lock(scrub_mu);
  return !scrub_cv.wait_for(lock, d, [&] { return closing; });
}

// Walks every record in disk order, at most options.scrub_bytes_per_second, re-reading it
// and checking its header and CRC32C against the index. A record moved or deleted since the
// page was listed is skipped.
void SegmentStore::Impl::ScrubLoop() {
  using Clock = std::chrono::steady_clock;
  uint64_t segment = 0, offset = 0;
  uint64_t pass_bytes = 0;
  Clock::time_point pass_start = Clock::now();
  while (true) {
    auto refs = index->ScanRecords(segment, offset, kScrubPageSize);
    if (!refs.ok()) {
      spdlog::error("scrub: {}", refs.status().ToString());
      if (!ScrubWait(std::chrono::seconds(10))) return;
      continue;
    }
    if (refs->empty()) {
      {
        std::lock_guard lock(stats_mu);
        ++scrub.passes;
        scrub.last_pass_finished_unix = std::chrono::duration_cast<std::chrono::seconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count();
      }
      if (!ScrubWait(options.scrub_interval)) return;
      segment = offset = pass_bytes = 0;
      pass_start = Clock::now();
      continue;
    }
    for (const RecordRef& ref : *refs) {
      auto loc = index->Find(ref.tenant, ref.chunk_id);
      if (loc.ok() && *loc && (*loc)->segment == ref.segment && (*loc)->offset == ref.offset) {
        auto record = ReadRecord(ref.tenant, ref.chunk_id, **loc);
        if (record.status().code() == absl::StatusCode::kDataLoss) {
          RecordFinding(ref.tenant, ref.chunk_id);
        }
        uint64_t size = RecordSize((*loc)->length);
        pass_bytes += size;
        metrics->scrub_checked.Inc();
        metrics->scrub_bytes.Inc(size);
        std::lock_guard lock(stats_mu);
        ++scrub.chunks_checked;
      }
      segment = ref.segment;
      offset = ref.offset + 1;
    }
    // Rate limit: stay at or under scrub_bytes_per_second averaged over the pass.
    auto due =
        pass_start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                         double(pass_bytes) / double(options.scrub_bytes_per_second)));
    if (due > Clock::now()) {
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(due - Clock::now());
      if (!ScrubWait(wait)) return;
    } else {
      std::lock_guard lock(scrub_mu);
      if (closing) return;
    }
  }
}

}  // namespace mosaic::node
