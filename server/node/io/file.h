#pragma once
// The node's file interface, after leveldb's Env: the store reaches the disk only through
// it, so that tests can swap in a fault-injecting implementation (faulty_file_system.h).
//
// Buffers: for a File opened with direct I/O, every offset, length and buffer address passed
// to it must be a multiple of kDirectIoAlignment (common/aligned_buffer.h). The caller owns
// every buffer and keeps it alive until the call returns. Calls block the calling thread;
// the store calls them only from its I/O threads.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
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

// How the production file system moves bytes. Both engines open the same files (O_DIRECT
// where the filesystem allows it) and make writes durable with fdatasync.
enum class IoEngine {
  kAuto,   // io_uring when this process may create a ring, else kPosix
  kUring,  // reads, writes and fdatasync through one io_uring per thread (batched)
  kPosix,  // pread, pwrite and fdatasync, one call at a time: for hosts that forbid io_uring
           // (Docker's default seccomp profile, kernel.io_uring_disabled)
};

// "auto", "io_uring", "posix"; nullopt for anything else.
std::optional<IoEngine> ParseIoEngine(std::string_view name);
const char* IoEngineName(IoEngine engine);

struct ResolvedIoEngine {
  IoEngine engine = IoEngine::kPosix;  // kUring or kPosix
  std::string reason;                  // why io_uring is not used (empty when it is)
};
// Resolves kAuto by creating a test ring. FAILED_PRECONDITION, with the reason, when kUring
// is asked for and this process may not create a ring.
[[nodiscard]] absl::StatusOr<ResolvedIoEngine> ResolveIoEngine(IoEngine requested);

// Faults injected into the io_uring engine, for tests: the ring submission after the next
// `submits_before_failure` ones fails with `error` (an errno value) without reaching the
// kernel, once. Prepared entries stay queued, as after a real failed submission.
struct UringFaults {
  std::atomic<int> submits_before_failure{-1};  // -1: no fault armed
  int error = EAGAIN;
  std::atomic<int> entries{0};  // counts the ring entries prepared (reads, writes, syncs)
};

// The production file system with `engine` (kUring or kPosix; see ResolveIoEngine). Where
// the filesystem refuses O_DIRECT (tmpfs on old kernels), files are opened buffered and a
// warning is logged once. With kUring, a thread that cannot create its ring falls back to
// pread/pwrite (logged once). `faults`, if given, must outlive the file system.
std::unique_ptr<FileSystem> NewLocalFileSystem(IoEngine engine, UringFaults* faults = nullptr);

}  // namespace mosaic::node::io
