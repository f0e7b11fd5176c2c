#pragma once
// The chunk store: append-only segment files written through io::FileSystem (io_uring in
// production) and indexed in RocksDB. docs/formats/segment.md gives the on-disk format and
// docs/architecture.md the reasons behind the orderings below.
//
// Threads. Every call returns at once and reports through its callback:
//  - one writer thread owns the active segment; it takes queued puts and deletes in
//    batches, writes a batch's records with one io_uring submission, makes them durable
//    with one fdatasync (group commit), updates the index, then runs the batch's callbacks;
//    between batches it compacts sparse segments;
//  - `reader_threads` threads, each with its own ring, serve gets, stats and lists, taking
//    several gets at a time and submitting their reads together;
//  - one scrub thread re-reads every record at a bounded rate and records corrupt chunks.
// Callbacks run on those threads: they must not block. Methods are thread-safe.
//
// Durability: a put's callback reports OK only once its record is on disk and synced. On
// Open, records after the index's checkpoint in the active segment are replayed into the
// index; the first one that is incomplete or fails a CRC ends the log and the rest of the
// file is truncated away, so torn records are never served.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "common/aligned_buffer.h"
#include "common/bytes.h"
#include "common/metrics.h"
#include "server/node/index/chunk_index.h"
#include "server/node/io/file.h"

namespace mosaic::node {

struct StoreOptions {
  std::string dir;  // segments in dir/segments, the index in dir/index
  uint64_t segment_size_bytes = uint64_t{256} << 20;
  uint64_t max_chunk_bytes = uint64_t{8} << 20;
  double compact_below = 0.5;  // live share under which a sealed segment is rewritten
  uint64_t reserved_free_bytes = uint64_t{256} << 20;
  // Free space kept for the RocksDB index on top of reserved_free_bytes: this plus twice the
  // index's size, so that its log, flushes and compactions never meet a full disk.
  uint64_t index_headroom_bytes = uint64_t{32} << 20;
  int reader_threads = 2;
  uint64_t max_batch_bytes = uint64_t{32} << 20;
  size_t max_batch_ops = 256;
  uint64_t scrub_bytes_per_second = uint64_t{32} << 20;  // 0 disables the scrub
  std::chrono::milliseconds scrub_interval{std::chrono::hours(24)};
  metrics::Registry* metrics = nullptr;  // optional; must outlive the store
};

// What a tenant may store on this node; 0 means no limit.
struct TenantLimits {
  uint64_t quota_bytes = 0;  // in charged bytes: ChargedSize (record.h) summed over chunks
  uint64_t max_chunks = 0;
};

struct PutResult {
  bool created = false;  // false: the same bytes were already stored under this id
  uint32_t crc = 0;
};
struct GetResult {
  // The chunk's whole record as read from disk, in a buffer from mosaic::BufferPool::Global()
  // (give it back there when done); the requested range is data(). Handing the record over
  // instead of copying the range out saves a copy and a freshly mapped string per get.
  AlignedBuffer record;
  size_t data_offset = 0;  // of the requested range in `record`
  size_t data_length = 0;
  uint64_t chunk_length = 0;
  uint32_t chunk_crc = 0;

  ConstByteSpan data() const { return record.span().subspan(data_offset, data_length); }
};
struct ScrubStats {
  uint64_t passes = 0;
  int64_t last_pass_finished_unix = 0;
  uint64_t chunks_checked = 0;
};

class SegmentStore {
 public:
  // Opens or creates the store in options.dir and recovers it (see above). `fs` must outlive
  // the store. Errors: those of the file system and index; DATA_LOSS for an index that does
  // not decode.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<SegmentStore>> Open(StoreOptions options,
                                                                          io::FileSystem* fs);
  ~SegmentStore();  // Close()s.

  using PutDone = absl::AnyInvocable<void(absl::StatusOr<PutResult>)>;
  using GetDone = absl::AnyInvocable<void(absl::StatusOr<GetResult>)>;
  using DeleteDone = absl::AnyInvocable<void(absl::StatusOr<bool>)>;  // true: it existed
  using StatDone = absl::AnyInvocable<void(absl::StatusOr<ChunkLocation>)>;
  using ListDone = absl::AnyInvocable<void(absl::StatusOr<std::vector<ChunkEntry>>)>;

  // Stores `data` under (tenant, id). `data` must stay valid until `done` runs. A chunk is
  // charged ChargedSize(data.size()) against `limits.quota_bytes` and counts one against
  // `limits.max_chunks`. Errors: INVALID_ARGUMENT (id or tenant empty or over 64 bytes, data
  // empty or over max_chunk_bytes), ALREADY_EXISTS (other bytes under this id),
  // RESOURCE_EXHAUSTED (quota, chunk count, or free space under the reserve, or ENOSPC;
  // nothing is kept), UNAVAILABLE (closing, or the disk failed). `crc`, when given, must be
  // the CRC32C of `data` already verified by the caller (it is not computed again).
  void Put(std::string tenant, std::string id, ConstByteSpan data, TenantLimits limits,
           PutDone done, std::optional<uint32_t> crc = std::nullopt);
  // Put for a caller whose chunk already sits inside a record-sized buffer: `record`
  // (4096-aligned, at least RecordSize(length) bytes) holds the chunk's `length` bytes from
  // kRecordHeaderSize (record.h) on. The store writes the record's header and padding around
  // them in place and writes `record` itself, saving the copy into a record of its own (a
  // serial cost on the writer thread). `record` must stay valid, and untouched by the
  // caller, until `done` runs. Errors as Put's; INVALID_ARGUMENT if `record` is too small.
  void PutInPlace(std::string tenant, std::string id, ByteSpan record, size_t length,
                  TenantLimits limits, PutDone done, std::optional<uint32_t> crc = std::nullopt);
  // Reads [offset, offset + length) of a chunk; length 0 means to the end. NOT_FOUND,
  // INVALID_ARGUMENT (offset past the end), DATA_LOSS (the record fails its CRC: the chunk
  // is then recorded as a scrub finding), UNAVAILABLE.
  void Get(std::string tenant, std::string id, uint64_t offset, uint64_t length, GetDone done);
  void Delete(std::string tenant, std::string id, DeleteDone done);
  void Stat(std::string tenant, std::string id, StatDone done);
  // Up to `limit` of the tenant's chunks with id > after, in byte order.
  void List(std::string tenant, std::string after, size_t limit, ListDone done);

  // Snapshot accessors; thread-safe, never block on I/O. Usage and TotalUsedBytes are in
  // charged bytes.
  TenantUsage Usage(const std::string& tenant) const;
  uint64_t TotalUsedBytes() const;
  std::vector<std::string> CorruptChunks(const std::string& tenant) const;
  ScrubStats Scrub() const;
  size_t SegmentCount() const;

  // Stops taking work (new calls fail with UNAVAILABLE), finishes everything queued, makes
  // the index durable and joins the threads. Idempotent.
  void Close();

  struct Impl;

 private:
  explicit SegmentStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mosaic::node
