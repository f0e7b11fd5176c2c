#pragma once
// The gateway's metadata in RocksDB: buckets, objects (their manifests), access keys, and
// the queue of object data to delete on the nodes. Records are protobuf messages
// (proto/mosaic/v1/meta.proto); docs/architecture.md gives the key schema.
//
// Writes that must be atomic together (an object and the deletion of the data it replaces)
// go in one RocksDB write batch, synced: an acknowledged PUT or DELETE survives a crash.
// Thread-safe; writes are serialised by one mutex (they are short), reads are not.
//
// Errors: NOT_FOUND for a missing bucket where one is required, ALREADY_EXISTS for a bucket
// that exists, FAILED_PRECONDITION for a bucket that is not empty; RocksDB failures are
// INTERNAL (UNAVAILABLE for I/O errors); a record that does not parse is DATA_LOSS.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/mosaic/v1/meta.pb.h"

namespace rocksdb {
class DB;
}

namespace mosaic::gateway {

struct ObjectEntry {
  std::string key;
  v1::ObjectRecord record;
};

class MetaStore {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<MetaStore>> Open(const std::string& dir);
  ~MetaStore();

  // Buckets.
  [[nodiscard]] absl::Status CreateBucket(const std::string& name, const v1::BucketRecord& r);
  [[nodiscard]] absl::StatusOr<std::optional<v1::BucketRecord>> GetBucket(
      const std::string& name) const;
  [[nodiscard]] absl::Status DeleteBucket(const std::string& name);
  [[nodiscard]] absl::StatusOr<std::vector<std::pair<std::string, v1::BucketRecord>>>
  ListBuckets() const;

  // Objects.
  [[nodiscard]] absl::StatusOr<std::optional<v1::ObjectRecord>> GetObject(
      const std::string& bucket, const std::string& key) const;
  // Commits `record` under (bucket, key); the data of the object it replaces, if any, is
  // queued for deletion in the same write. `check` (optional) runs under the write lock with
  // the current record (nullopt if none) and may veto the write with its status (conditional
  // writes). NOT_FOUND if the bucket does not exist.
  using PutCheck = std::function<absl::Status(const std::optional<v1::ObjectRecord>&)>;
  [[nodiscard]] absl::Status PutObject(const std::string& bucket, const std::string& key,
                                       const v1::ObjectRecord& record,
                                       const PutCheck& check = nullptr);
  // Deletes the object and queues its data; returns whether it existed.
  [[nodiscard]] absl::StatusOr<bool> DeleteObject(const std::string& bucket,
                                                  const std::string& key);
  // Up to `limit` objects of `bucket` whose key starts with `prefix` and is >= `start`, in
  // byte order of key.
  [[nodiscard]] absl::StatusOr<std::vector<ObjectEntry>> ListObjects(const std::string& bucket,
                                                                     const std::string& prefix,
                                                                     const std::string& start,
                                                                     size_t limit) const;

  // Access keys.
  [[nodiscard]] absl::Status PutKey(const v1::AccessKeyRecord& r);
  [[nodiscard]] absl::StatusOr<std::optional<v1::AccessKeyRecord>> GetKey(
      const std::string& id) const;
  [[nodiscard]] absl::StatusOr<std::vector<v1::AccessKeyRecord>> ListKeys() const;
  [[nodiscard]] absl::StatusOr<bool> DeleteKey(const std::string& id);

  // The deletion queue.
  [[nodiscard]] absl::Status QueueDeletion(const v1::Manifest& manifest);
  [[nodiscard]] absl::StatusOr<std::vector<std::pair<uint64_t, v1::DeletionRecord>>>
  PendingDeletions(size_t limit) const;
  // Removes entry `seq`; with `retry`, queues it again (its remaining shards) in the same write.
  // An entry that is not there (finished already) is left alone: OK, nothing queued.
  [[nodiscard]] absl::Status FinishDeletion(uint64_t seq,
                                            const std::optional<v1::DeletionRecord>& retry);
  uint64_t DeletionBacklog() const;

 private:
  explicit MetaStore(std::unique_ptr<rocksdb::DB> db);
  uint64_t NextSequence();

  std::unique_ptr<rocksdb::DB> db_;
  std::mutex write_mu_;
  uint64_t next_deletion_ = 1;
  std::atomic<uint64_t> backlog_{0};
};

// The smallest string greater than every string starting with `prefix` ("" if none: the
// prefix is all 0xff bytes). Used to skip a common prefix when listing.
std::string PrefixSuccessor(std::string prefix);

}  // namespace mosaic::gateway
