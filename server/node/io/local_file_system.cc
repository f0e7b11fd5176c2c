// The local file system behind io::FileSystem, with two engines for moving bytes: io_uring,
// where each thread that touches a file gets its own ring (thread_local), so no ring is ever
// shared and no locking is needed on the data path; and pread/pwrite, for hosts that forbid
// io_uring and for a thread whose ring cannot be created or has failed.

#include <dirent.h>
#include <fcntl.h>
#include <liburing.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <vector>

#include "common/status.h"
#include "server/node/io/file.h"

namespace mosaic::node::io {
namespace {

constexpr unsigned kRingEntries = 256;
// Failed submissions in a row after which a ring with entries in flight is given up.
constexpr int kMaxFailedSubmits = 64;

class Ring {
 public:
  Ring() { init_error_ = -io_uring_queue_init(kRingEntries, &ring_, 0); }
  // A broken ring is not closed: entries it holds may still complete into their buffers.
  ~Ring() {
    if (init_error_ == 0 && !broken_) io_uring_queue_exit(&ring_);
  }
  io_uring* get() { return &ring_; }
  int init_error() const { return init_error_; }
  bool usable() const { return init_error_ == 0 && !broken_; }
  void MarkBroken() { broken_ = true; }

  // Submits what is prepared and waits for `wait` completions; a negative errno on failure,
  // or the failure `faults` asks for (the prepared entries then stay queued).
  int SubmitAndWait(UringFaults* faults, unsigned wait) {
    if (faults != nullptr) {
      int n = faults->submits_before_failure.load();
      while (n >= 0 && !faults->submits_before_failure.compare_exchange_weak(n, n - 1)) {
      }
      if (n == 0) return -faults->error;
    }
    return io_uring_submit_and_wait(&ring_, wait);
  }

 private:
  io_uring ring_{};
  int init_error_ = 0;
  bool broken_ = false;
};

Ring& ThreadRing() {
  thread_local Ring ring;
  return ring;
}

// One read, write or fdatasync to carry through to completion, resubmitting after short
// transfers.
struct Transfer {
  enum class Kind { kRead, kWrite, kSync };
  int fd = -1;
  Kind kind = Kind::kRead;
  uint64_t offset = 0;
  std::byte* data = nullptr;
  size_t length = 0;
  size_t done = 0;
  int error = 0;  // errno of the failure, 0 if none
  bool finished = false;
  // A sync that starts only once everything submitted before it has completed
  // (IOSQE_IO_DRAIN), so that it can go in the same submission as the writes it covers.
  bool drain = false;
  int submissions = 0;
  // A write of several buffers that follow one another in the file, as one vectored write
  // (`data` is then unused; `length` is their total): a batch of records is one write, so
  // io_uring hands it to one worker instead of one per record, which queue on the file's lock.
  std::vector<iovec> iov = {};
  std::vector<iovec> rest = {};  // what is left of `iov` after `done` bytes
};

// Sets t.rest to the part of t.iov after its first t.done bytes.
void RestOf(Transfer& t) {
  t.rest.clear();
  size_t skip = t.done;
  for (const iovec& v : t.iov) {
    if (skip >= v.iov_len) {
      skip -= v.iov_len;
      continue;
    }
    t.rest.push_back({static_cast<char*>(v.iov_base) + skip, v.iov_len - skip});
    skip = 0;
  }
}

void Prepare(io_uring_sqe* sqe, Transfer& t, uint64_t index) {
  std::byte* p = t.data + t.done;
  unsigned n = static_cast<unsigned>(t.length - t.done);
  switch (t.kind) {
    case Transfer::Kind::kWrite:
      if (!t.iov.empty()) {
        RestOf(t);
        io_uring_prep_writev(sqe, t.fd, t.rest.data(), static_cast<unsigned>(t.rest.size()),
                             t.offset + t.done);
      } else {
        io_uring_prep_write(sqe, t.fd, p, n, t.offset + t.done);
      }
      break;
    case Transfer::Kind::kRead:
      io_uring_prep_read(sqe, t.fd, p, n, t.offset + t.done);
      break;
    case Transfer::Kind::kSync:
      io_uring_prep_fsync(sqe, t.fd, IORING_FSYNC_DATASYNC);
      if (t.drain) io_uring_sqe_set_flags(sqe, IOSQE_IO_DRAIN);
      break;
  }
  ++t.submissions;
  io_uring_sqe_set_data64(sqe, index);
}

// Applies one result (a byte count or a negative errno). A read of 0 bytes is end of file;
// a write of 0 bytes cannot make progress and is an I/O error.
void Complete(Transfer& t, int64_t res) {
  if (res < 0) {
    t.error = static_cast<int>(-res);
    t.finished = true;
  } else if (t.kind == Transfer::Kind::kSync) {
    t.finished = true;
  } else if (res == 0) {
    if (t.kind == Transfer::Kind::kWrite) t.error = EIO;
    t.finished = true;
  } else {
    t.done += static_cast<size_t>(res);
    t.finished = t.done >= t.length;
  }
}

// Runs every transfer on `ring`. Returns 0, or the errno of a failed submission: transfers
// not yet handed to the ring are then left unfinished, but the call still waits for every
// entry it prepared, so that none completes later into a buffer the caller has freed, or
// is taken for one of the next call's (the entries' user data are indices into this call's
// transfers). A ring that fails kMaxFailedSubmits submissions in a row while entries are
// outstanding is marked broken: this thread then uses pread/pwrite.
int RunOnRing(Ring& ring, std::vector<Transfer>& transfers, UringFaults* faults) {
  io_uring* r = ring.get();
  size_t next = 0;            // first transfer never submitted
  std::vector<size_t> retry;  // short transfers to resubmit
  size_t in_flight = 0;       // prepared and not yet completed
  int failure = 0;
  int failed_in_a_row = 0;
  auto more = [&] { return failure == 0 && (next < transfers.size() || !retry.empty()); };
  while (more() || in_flight > 0) {
    while (more() && in_flight < kRingEntries) {
      io_uring_sqe* sqe = io_uring_get_sqe(r);
      if (sqe == nullptr) break;
      size_t i = next;
      if (!retry.empty()) {
        i = retry.back();
        retry.pop_back();
      } else {
        ++next;
      }
      Prepare(sqe, transfers[i], i);
      if (faults != nullptr) ++faults->entries;
      ++in_flight;
    }
    // Waiting for all of them, not the first, wakes this thread once per batch (a batch of
    // writes and its fdatasync, or a reader's gets) instead of once per completion.
    int rc = ring.SubmitAndWait(faults, static_cast<unsigned>(in_flight));
    if (rc < 0 && rc != -EINTR) {
      if (failure == 0) failure = -rc;
      if (++failed_in_a_row >= kMaxFailedSubmits) {
        ring.MarkBroken();
        spdlog::error(
            "io_uring: {} submissions failed in a row ({}); this thread now uses "
            "pread/pwrite",
            failed_in_a_row, std::strerror(-rc));
        return failure;
      }
    } else {
      failed_in_a_row = 0;
    }
    io_uring_cqe* cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(r, head, cqe) {
      Transfer& t = transfers[io_uring_cqe_get_data64(cqe)];
      Complete(t, cqe->res);
      if (!t.finished) retry.push_back(io_uring_cqe_get_data64(cqe));
      ++seen;
    }
    io_uring_cq_advance(r, seen);
    in_flight -= seen;
  }
  return failure;
}

// The same with plain system calls, one at a time.
void RunPosix(std::vector<Transfer>& transfers) {
  for (Transfer& t : transfers) {
    while (!t.finished) {
      ssize_t n = 0;
      switch (t.kind) {
        case Transfer::Kind::kWrite:
          if (!t.iov.empty()) {
            RestOf(t);
            n = ::pwritev(t.fd, t.rest.data(), static_cast<int>(t.rest.size()),
                          off_t(t.offset + t.done));
          } else {
            n = ::pwrite(t.fd, t.data + t.done, t.length - t.done, off_t(t.offset + t.done));
          }
          break;
        case Transfer::Kind::kRead:
          n = ::pread(t.fd, t.data + t.done, t.length - t.done, off_t(t.offset + t.done));
          break;
        case Transfer::Kind::kSync:
          n = ::fdatasync(t.fd);
          break;
      }
      if (n < 0 && errno == EINTR) continue;
      Complete(t, n < 0 ? -int64_t{errno} : int64_t{n});
    }
  }
}

// The transfer path of one file system.
struct Engine {
  bool uring = false;
  UringFaults* faults = nullptr;
  mutable std::atomic<bool> warned{false};

  // Runs `transfers` to completion; returns 0 or the errno of a ring failure.
  int Run(std::vector<Transfer>& transfers) const {
    if (uring) {
      Ring& ring = ThreadRing();
      if (ring.usable()) return RunOnRing(ring, transfers, faults);
      if (ring.init_error() != 0 && !warned.exchange(true)) {
        spdlog::warn("io_uring: cannot create a ring on this thread ({}); using pread/pwrite",
                     std::strerror(ring.init_error()));
      }
    }
    RunPosix(transfers);
    return 0;
  }
};

class LocalFile final : public File {
 public:
  LocalFile(int fd, std::string path, bool direct, const Engine& engine)
      : fd_(fd), path_(std::move(path)), direct_(direct), engine_(engine) {}
  ~LocalFile() override { ::close(fd_); }

  absl::Status Write(std::span<const WriteOp> ops, bool sync) override {
    std::vector<Transfer> transfers = WriteTransfers(ops);
    size_t writes = transfers.size();
    if (sync) {
      transfers.push_back(Transfer{fd_, Transfer::Kind::kSync});
      transfers.back().drain = true;
    }
    if (int err = engine_.Run(transfers); err != 0) return ErrnoToStatus(err, "io_uring");
    for (size_t i = 0; i < writes; ++i) {
      if (transfers[i].error != 0) return ErrnoToStatus(transfers[i].error, "write " + path_);
    }
    if (!sync) return absl::OkStatus();
    // The fdatasync went with the writes, drained behind them, unless one of them was
    // short and had to be sent again after it: then it is run again now. A failed one is
    // final (a second fdatasync could succeed without the lost pages).
    const Transfer& flush = transfers.back();
    if (flush.error != 0) return ErrnoToStatus(flush.error, "fdatasync " + path_);
    bool resent = std::any_of(transfers.begin(), transfers.end() - 1,
                              [](const Transfer& t) { return t.submissions > 1; });
    if (!resent && flush.finished) return absl::OkStatus();
    std::vector<Transfer> again{Transfer{fd_, Transfer::Kind::kSync}};
    if (int err = engine_.Run(again); err != 0) return ErrnoToStatus(err, "io_uring");
    if (again[0].error != 0) return ErrnoToStatus(again[0].error, "fdatasync " + path_);
    return absl::OkStatus();
  }

  // One transfer per run of ops that follow one another in the file (a vectored write when
  // the run has several), at most IOV_MAX buffers each.
  std::vector<Transfer> WriteTransfers(std::span<const WriteOp> ops) const {
    std::vector<Transfer> transfers;
    transfers.reserve(ops.size() + 1);
    for (const WriteOp& op : ops) {
      auto* data = const_cast<std::byte*>(op.data.data());
      if (!transfers.empty()) {
        Transfer& last = transfers.back();
        if (last.offset + last.length == op.offset && last.iov.size() < IOV_MAX) {
          if (last.iov.empty()) last.iov.push_back({last.data, last.length});
          last.iov.push_back({data, op.data.size()});
          last.length += op.data.size();
          continue;
        }
      }
      transfers.push_back(Transfer{fd_, Transfer::Kind::kWrite, op.offset, data, op.data.size()});
    }
    return transfers;
  }

  absl::StatusOr<size_t> Read(uint64_t offset, ByteSpan buf) override {
    std::vector<Transfer> transfers{
        Transfer{fd_, Transfer::Kind::kRead, offset, buf.data(), buf.size()}};
    if (int err = engine_.Run(transfers); err != 0) return ErrnoToStatus(err, "io_uring");
    if (transfers[0].error != 0) return ErrnoToStatus(transfers[0].error, "read " + path_);
    return transfers[0].done;
  }

  absl::Status Truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
      return ErrnoToStatus(errno, "truncate " + path_);
    }
    if (::fdatasync(fd_) != 0) return ErrnoToStatus(errno, "fdatasync " + path_);
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> Size() override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return ErrnoToStatus(errno, "stat " + path_);
    return static_cast<uint64_t>(st.st_size);
  }

  bool direct() const override { return direct_; }
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

 private:
  int fd_;
  std::string path_;
  bool direct_;
  const Engine& engine_;
};

class LocalFileSystem final : public FileSystem {
 public:
  LocalFileSystem(bool uring, UringFaults* faults) {
    engine_.uring = uring;
    engine_.faults = faults;
  }

  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, bool create) override {
    int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0);
    int fd = ::open(path.c_str(), flags | O_DIRECT, 0600);
    bool direct = true;
    if (fd < 0 && errno == EINVAL) {
      if (!warned_.exchange(true)) {
        spdlog::warn("{}: filesystem refuses O_DIRECT; using buffered I/O with fdatasync", path);
      }
      fd = ::open(path.c_str(), flags, 0600);
      direct = false;
    }
    if (fd < 0) return ErrnoToStatus(errno, "open " + path);
    return std::unique_ptr<File>(new LocalFile(fd, path, direct, engine_));
  }

  void ReadBatch(std::span<ReadOp> ops) override {
    std::vector<Transfer> transfers;
    transfers.reserve(ops.size());
    for (ReadOp& op : ops) {
      auto* f = static_cast<LocalFile*>(op.file);
      transfers.push_back(
          Transfer{f->fd(), Transfer::Kind::kRead, op.offset, op.buf.data(), op.buf.size()});
    }
    int err = engine_.Run(transfers);
    for (size_t i = 0; i < ops.size(); ++i) {
      int e = err != 0 ? err : transfers[i].error;
      if (e != 0) {
        ops[i].result = ErrnoToStatus(e, "read " + static_cast<LocalFile*>(ops[i].file)->path());
      } else {
        ops[i].result = transfers[i].done;
      }
    }
  }

  absl::Status Remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return ErrnoToStatus(errno, "unlink " + path);
    return absl::OkStatus();
  }

  absl::Status CreateDir(const std::string& path) override {
    if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
      return ErrnoToStatus(errno, "mkdir " + path);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return ErrnoToStatus(errno, "opendir " + dir);
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(std::move(name));
    }
    ::closedir(d);
    return names;
  }

  absl::Status SyncDir(const std::string& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoToStatus(errno, "open " + dir);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return ErrnoToStatus(err, "fsync " + dir);
    return absl::OkStatus();
  }

  absl::StatusOr<DiskSpace> GetSpace(const std::string& dir) override {
    struct statvfs st;
    if (::statvfs(dir.c_str(), &st) != 0) return ErrnoToStatus(errno, "statvfs " + dir);
    return DiskSpace{uint64_t(st.f_blocks) * st.f_frsize, uint64_t(st.f_bavail) * st.f_frsize};
  }

 private:
  Engine engine_;
  std::atomic<bool> warned_{false};
};

}  // namespace

void FileSystem::ReadBatch(std::span<ReadOp> ops) {
  for (ReadOp& op : ops) op.result = op.file->Read(op.offset, op.buf);
}

std::optional<IoEngine> ParseIoEngine(std::string_view name) {
  if (name == "auto") return IoEngine::kAuto;
  if (name == "io_uring") return IoEngine::kUring;
  if (name == "posix") return IoEngine::kPosix;
  return std::nullopt;
}

const char* IoEngineName(IoEngine engine) {
  switch (engine) {
    case IoEngine::kAuto:
      return "auto";
    case IoEngine::kUring:
      return "io_uring";
    case IoEngine::kPosix:
      return "posix";
  }
  return "?";
}

absl::StatusOr<ResolvedIoEngine> ResolveIoEngine(IoEngine requested) {
  if (requested == IoEngine::kPosix) return ResolvedIoEngine{IoEngine::kPosix, "configured"};
  io_uring ring;
  int rc = io_uring_queue_init(4, &ring, 0);
  if (rc == 0) {
    io_uring_queue_exit(&ring);
    return ResolvedIoEngine{IoEngine::kUring, ""};
  }
  std::string reason = std::string("io_uring_setup: ") + std::strerror(-rc);
  if (requested == IoEngine::kUring) {
    return absl::FailedPreconditionError("io_uring is unavailable here (" + reason + ")");
  }
  return ResolvedIoEngine{IoEngine::kPosix, reason};
}

std::unique_ptr<FileSystem> NewLocalFileSystem(IoEngine engine, UringFaults* faults) {
  return std::make_unique<LocalFileSystem>(engine != IoEngine::kPosix, faults);
}

}  // namespace mosaic::node::io
