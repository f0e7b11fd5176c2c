#pragma once
// An in-memory io::FileSystem that injects the faults a disk and a power cut can cause, for
// crash and recovery tests of the store. Thread-safe (one mutex). Not for production.
//
// Model: each file has its current contents and its durable contents (as of its last
// sync); names created or removed become durable only when their folder is synced.
// Crash() turns the durable state into the current one, as a power cut would.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "server/node/io/file.h"

namespace mosaic::node::io {

class FaultyFileSystem final : public FileSystem {
 public:
  FaultyFileSystem();
  ~FaultyFileSystem() override;

  // The write op after the next `ops` successful ones fails with `err` (an errno value)
  // after `partial_bytes` of it reached the file. One-shot.
  void FailWriteAfter(int ops, int err, size_t partial_bytes);
  // Total bytes over all files; a write past it writes what fits and fails with ENOSPC.
  void SetSpaceLimit(uint64_t bytes);
  // Every later read of a file fails with EIO while `on`.
  void FailReads(bool on);

  // Power cut: unsynced data is lost and unsynced names revert. With `torn`, each unsynced
  // write keeps a pseudo-random prefix (seeded by `seed`), as a torn write would. Files must
  // not be used across a crash: close the store first, then reopen.
  void Crash(bool torn, uint32_t seed);

  // Test access: flips the byte at `offset` of `path` (current and durable state).
  void FlipByte(const std::string& path, uint64_t offset);
  uint64_t FileSize(const std::string& path);
  uint64_t writes() const;

  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, bool create) override;
  absl::Status Remove(const std::string& path) override;
  absl::Status CreateDir(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir) override;
  absl::Status SyncDir(const std::string& dir) override;
  absl::StatusOr<DiskSpace> GetSpace(const std::string& dir) override;

  struct Data;  // per-file state, shared with open files
  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace mosaic::node::io
