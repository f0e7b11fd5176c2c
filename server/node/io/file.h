#pragma once
// The node's file interface, after leveldb's Env: the store reaches the disk only through
// it, so that tests can swap in a fault-injecting implementation (faulty_file_system.h).
//
// Buffers: for a File opened with direct I/O, every offset, length and buffer address passed
// to it must be a multiple of kDirectIoAlignment (common/aligned_buffer.h). The caller owns
// every buffer and keeps it alive until the call returns. Calls block the calling thread;
// the store calls them only from its I/O threads.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/bytes.h"

namespace mosaic::node::io {

struct WriteOp {
  uint64_t offset = 0;
  ConstByteSpan data;
};

class File {
 public:
  virtual ~File() = default;

  // Writes every op in full, then, if `sync`, makes the written data and the file size
  // durable (fdatasync) before returning. On error some prefix of the data may have reached
  // the file; the caller truncates back. RESOURCE_EXHAUSTED when the disk is full.
  [[nodiscard]] virtual absl::Status Write(std::span<const WriteOp> ops, bool sync) = 0;

  // Reads up to buf.size() bytes at `offset`; returns the count, short only at end of file.
  [[nodiscard]] virtual absl::StatusOr<size_t> Read(uint64_t offset, ByteSpan buf) = 0;

  // Sets the file's size and makes the new size durable.
  [[nodiscard]] virtual absl::Status Truncate(uint64_t size) = 0;

  [[nodiscard]] virtual absl::StatusOr<uint64_t> Size() = 0;

  // True when the file bypasses the page cache (O_DIRECT): alignment rules apply.
  virtual bool direct() const = 0;
};

struct ReadOp {
  File* file = nullptr;
  uint64_t offset = 0;
  ByteSpan buf;
  // Filled by ReadBatch.
  absl::StatusOr<size_t> result = size_t{0};
};

struct DiskSpace {
  uint64_t capacity_bytes = 0;
  uint64_t free_bytes = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Opens `path` for reading and writing, creating it if `create`. NOT_FOUND if missing.
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path,
                                                                   bool create) = 0;
  // Performs every read; each op's result is set. Implementations may issue them together
  // (io_uring submits them in one call). Files must belong to this FileSystem.
  virtual void ReadBatch(std::span<ReadOp> ops);

  [[nodiscard]] virtual absl::Status Remove(const std::string& path) = 0;
  [[nodiscard]] virtual absl::Status CreateDir(const std::string& path) = 0;
  // Names (not paths) of the entries of `dir`, without "." and "..".
  [[nodiscard]] virtual absl::StatusOr<std::vector<std::string>> ListDir(
      const std::string& dir) = 0;
  // Makes the creation and removal of entries in `dir` durable.
  [[nodiscard]] virtual absl::Status SyncDir(const std::string& dir) = 0;
  [[nodiscard]] virtual absl::StatusOr<DiskSpace> GetSpace(const std::string& dir) = 0;
};

// The production file system: O_DIRECT files whose reads, writes and fdatasync go through
// an io_uring owned by the calling thread (one ring per thread, created on first use).
// Where the filesystem refuses O_DIRECT (tmpfs on old kernels), files are opened buffered
// and a warning is logged once; durability still comes from fdatasync.
std::unique_ptr<FileSystem> NewUringFileSystem();

}  // namespace mosaic::node::io
