#pragma once
// Private state of SegmentStore, shared by segment_store.cc (open, recovery, public
// methods), writer.cc (the writer thread) and reader.cc (reader and scrub threads).

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <variant>

#include "common/aligned_buffer.h"
#include "server/node/store/buffer_pool.h"
#include "server/node/store/segment_store.h"

namespace mosaic::node {

struct PutTask {
  std::string tenant;
  std::string id;
  ConstByteSpan data;
  TenantLimits limits;
  SegmentStore::PutDone done;
  std::optional<uint32_t> crc;  // known CRC32C of data, if the caller computed it
  ByteSpan record_space;        // PutInPlace: the record around `data` (else empty)
};
struct DeleteTask {
  std::string tenant;
  std::string id;
  SegmentStore::DeleteDone done;
};
using WriteTask = std::variant<PutTask, DeleteTask>;

struct GetTask {
  std::string tenant;
  std::string id;
  uint64_t offset = 0;
  uint64_t length = 0;
  SegmentStore::GetDone done;
};
struct StatTask {
  std::string tenant;
  std::string id;
  SegmentStore::StatDone done;
};
struct ListTask {
  std::string tenant;
  std::string after;
  size_t limit = 0;
  SegmentStore::ListDone done;
};
using ReadTask = std::variant<GetTask, StatTask, ListTask>;

// A put accepted into the batch being built: its record is serialised in `record`.
struct StagedPut {
  PutTask task;
  ChunkLocation location;
  std::optional<ChunkLocation> replaces;  // a corrupt record this one heals
  AlignedBuffer record;                   // from the writer's pool (empty for PutInPlace)
  ConstByteSpan bytes;                    // the record as written: `record` or task.record_space
  std::vector<PutTask> followers;         // later puts of the same bytes in the same batch
};

struct StoreMetrics {
  explicit StoreMetrics(metrics::Registry& r);
  metrics::Counter& batches;
  metrics::Histogram& batch_puts;
  metrics::Histogram& commit_seconds;
  metrics::Counter& compacted_bytes;
  metrics::Counter& segments_removed;
  metrics::Counter& scrub_checked;
  metrics::Counter& scrub_bytes;
  metrics::Counter& corrupt_found;
};

struct SegmentStore::Impl {
  StoreOptions options;
  io::FileSystem* fs = nullptr;
  std::unique_ptr<ChunkIndex> index;
  std::unique_ptr<metrics::Registry> own_metrics;  // when options.metrics is null
  std::unique_ptr<StoreMetrics> metrics;
  std::string segments_dir;

  // Segment files by number. Readers copy a shared_ptr under `segments_mu`, so a segment
  // removed by compaction stays readable by reads already under way.
  mutable std::mutex segments_mu;
  std::map<uint64_t, std::shared_ptr<io::File>> segments;

  // Owned by the writer thread after Open (read under `stats_mu` by accessors).
  uint64_t active_segment = 0;
  uint64_t active_end = 0;
  uint64_t next_sequence = 1;
  uint64_t space_budget = 0;                  // bytes the puts being staged may still take
  BufferPool record_pool{size_t{64} << 20};   // the writer's record buffers
  std::map<uint64_t, uint64_t> segment_live;  // live record bytes per segment
  std::map<uint64_t, uint64_t> segment_size;  // file size of sealed segments
  mutable std::mutex stats_mu;
  std::map<std::string, TenantUsage> usage;
  std::map<std::string, std::set<std::string>> findings;  // tenant -> corrupt chunk ids
  ScrubStats scrub;

  // Work queues.
  std::mutex write_mu;
  std::condition_variable write_cv;
  std::deque<WriteTask> write_queue;
  std::mutex read_mu;
  std::condition_variable read_cv;
  std::deque<ReadTask> read_queue;
  bool closing = false;  // under both queue mutexes
  std::mutex scrub_mu;
  std::condition_variable scrub_cv;

  std::thread writer;
  std::vector<std::thread> readers;
  std::thread scrubber;
  std::atomic<bool> closed{false};

  // segment_store.cc
  std::string SegmentPath(uint64_t segment) const;
  std::shared_ptr<io::File> SegmentFile(uint64_t segment) const;
  absl::Status Recover();
  absl::Status ReplayActive(const Checkpoint& checkpoint);
  absl::Status RecomputeUsage(const std::vector<std::string>& tenants);
  // Reads the whole record at `loc` and checks its header and payload CRC against `loc`,
  // tenant and id. DATA_LOSS if they disagree. Blocks; call on an I/O thread.
  absl::StatusOr<AlignedBuffer> ReadRecord(const std::string& tenant, const std::string& id,
                                           const ChunkLocation& loc);
  void RecordFinding(const std::string& tenant, const std::string& id);
  TenantUsage UsageOf(const std::string& tenant) const;

  // writer.cc
  void WriterLoop();
  void ProcessPuts(std::vector<PutTask>& puts);
  uint64_t SpaceBudget();
  void ProcessDeletes(std::vector<DeleteTask>& deletes);
  absl::Status CheckLimits(const PutTask& task,
                           const std::map<std::string, TenantUsage>& pending_usage) const;
  absl::Status StagePut(PutTask& task, std::vector<StagedPut>& staged, uint64_t& batch_bytes,
                        std::map<std::string, TenantUsage>& pending_usage, bool& created);
  void CommitPuts(std::vector<StagedPut>& staged,
                  const std::map<std::string, TenantUsage>& pending_usage);
  absl::Status Rollover();
  absl::Status CompactStep();
  std::optional<uint64_t> CompactionCandidate() const;
  absl::Status DropSegment(uint64_t segment);

  void EnqueuePut(PutTask task);

  // reader.cc
  void ReaderLoop();
  void ServeGets(std::vector<GetTask>& gets);
  void ScrubLoop();
  bool ScrubWait(std::chrono::milliseconds d);
};

// Serialises a record (header + payload + zero padding) into `record` (reused when large
// enough, otherwise replaced) and returns it.
AlignedBuffer BuildRecord(const std::string& tenant, const std::string& id, ConstByteSpan data,
                          uint32_t crc, uint64_t sequence, AlignedBuffer record);
// Writes the header and zero padding of a record around the `length` bytes of payload
// already at record[kRecordHeaderSize...]; `record` holds RecordSize(length) bytes or more.
void FrameRecord(const std::string& tenant, const std::string& id, size_t length, uint32_t crc,
                 uint64_t sequence, ByteSpan record);
// The same into a new buffer.
AlignedBuffer BuildRecord(const std::string& tenant, const std::string& id, ConstByteSpan data,
                          uint32_t crc, uint64_t sequence);

}  // namespace mosaic::node
