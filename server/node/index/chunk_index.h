#pragma once
// The node's index in RocksDB: where each chunk's record lives, usage per tenant, live
// bytes per segment, the recovery checkpoint and scrub findings. docs/formats/segment.md
// describes the key schema. Thread-safe: reads from any thread; writes go through Batch and
// are made by the store's writer thread.
//
// Errors: RocksDB failures map to INTERNAL (UNAVAILABLE for I/O errors); a value that does
// not decode is DATA_LOSS.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace rocksdb {
class DB;
class WriteBatch;
}  // namespace rocksdb

namespace mosaic::node {

struct ChunkLocation {
  uint64_t segment = 0;
  uint64_t offset = 0;  // of the record, a multiple of 4096
  uint64_t length = 0;  // of the payload
  uint32_t crc = 0;     // CRC32C of the payload
  bool operator==(const ChunkLocation&) const = default;
};

struct ChunkEntry {
  std::string chunk_id;
  ChunkLocation location;
};

// A record as found through the per-segment reverse index.
struct RecordRef {
  uint64_t segment = 0;
  uint64_t offset = 0;
  std::string tenant;
  std::string chunk_id;
};

struct TenantUsage {
  uint64_t bytes = 0;  // charged bytes: ChargedSize (store/record.h) summed over the chunks
  uint64_t chunks = 0;
};

// Usage as stored. `legacy` names the tenants whose usage an older node wrote in payload
// bytes: their charged bytes must be recomputed from their chunks.
struct StoredUsage {
  std::map<std::string, TenantUsage> usage;
  std::vector<std::string> legacy;
};

// Recovery starts replaying the active segment at `offset`; every record before it is in
// the index (or was deliberately dropped).
struct Checkpoint {
  uint64_t segment = 0;
  uint64_t offset = 0;
  uint64_t next_sequence = 1;
};

class ChunkIndex {
 public:
  // Opens (creating if missing) the database in folder `path`.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ChunkIndex>> Open(const std::string& path);
  // Opens the database in `path` for reading only, beside a node that may have it open
  // (a RocksDB secondary instance, whose own files go into folder `scratch_path`): for the
  // provider's tools. Writes through it fail.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ChunkIndex>> OpenReader(
      const std::string& path, const std::string& scratch_path);
  ~ChunkIndex();

  // A set of changes applied atomically by Write.
  class Batch {
   public:
    Batch();
    ~Batch();
    void PutChunk(std::string_view tenant, std::string_view id, const ChunkLocation& loc);
    // `loc` is the entry's current location (its reverse key is removed too).
    void DeleteChunk(std::string_view tenant, std::string_view id, const ChunkLocation& loc);
    // Points the entry at `to` (its record was copied there) and drops `from`'s reverse key.
    void MoveChunk(std::string_view tenant, std::string_view id, const ChunkLocation& from,
                   const ChunkLocation& to);
    void SetUsage(std::string_view tenant, const TenantUsage& usage);
    void SetSegmentLive(uint64_t segment, uint64_t live_bytes);
    void DeleteSegment(uint64_t segment);
    void SetCheckpoint(const Checkpoint& checkpoint);
    void PutFinding(std::string_view tenant, std::string_view id);
    void DeleteFinding(std::string_view tenant, std::string_view id);
    size_t count() const;

   private:
    friend class ChunkIndex;
    std::unique_ptr<rocksdb::WriteBatch> batch_;
  };

  // Applies `batch` atomically; with `sync`, durably (WAL fsync) before returning.
  [[nodiscard]] absl::Status Write(Batch& batch, bool sync);

  // The chunk's location; nullopt if absent.
  [[nodiscard]] absl::StatusOr<std::optional<ChunkLocation>> Find(std::string_view tenant,
                                                                  std::string_view id) const;
  // Up to `limit` of the tenant's chunks with id > `after`, in byte order of id.
  [[nodiscard]] absl::StatusOr<std::vector<ChunkEntry>> List(std::string_view tenant,
                                                             std::string_view after,
                                                             size_t limit) const;
  // Up to `limit` records at positions >= (segment, offset), in disk order, across
  // segments.
  [[nodiscard]] absl::StatusOr<std::vector<RecordRef>> ScanRecords(uint64_t segment,
                                                                   uint64_t offset,
                                                                   size_t limit) const;

  // Bytes the index occupies on disk (SST files and logs), approximately.
  uint64_t ApproximateSizeBytes() const;

  [[nodiscard]] absl::StatusOr<StoredUsage> LoadUsage() const;
  [[nodiscard]] absl::StatusOr<std::map<uint64_t, uint64_t>> LoadSegmentLive() const;
  [[nodiscard]] absl::StatusOr<std::optional<Checkpoint>> LoadCheckpoint() const;
  // (tenant, chunk id) pairs recorded as corrupt.
  [[nodiscard]] absl::StatusOr<std::vector<std::pair<std::string, std::string>>> LoadFindings()
      const;

 private:
  explicit ChunkIndex(std::unique_ptr<rocksdb::DB> db);
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace mosaic::node
