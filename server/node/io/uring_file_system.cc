// io_uring implementation of io::FileSystem. Each thread that touches a file gets its own
// ring (thread_local), so no ring is ever shared and no locking is needed on the data path.

#include <dirent.h>
#include <fcntl.h>
#include <liburing.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <vector>

#include "common/status.h"
#include "server/node/io/file.h"

namespace mosaic::node::io {
namespace {

constexpr unsigned kRingEntries = 256;

class Ring {
 public:
  Ring() { init_error_ = -io_uring_queue_init(kRingEntries, &ring_, 0); }
  ~Ring() {
    if (init_error_ == 0) io_uring_queue_exit(&ring_);
  }
  io_uring* get() { return &ring_; }
  int init_error() const { return init_error_; }

 private:
  io_uring ring_{};
  int init_error_ = 0;
};

Ring& ThreadRing() {
  thread_local Ring ring;
  return ring;
}

// One read or write to carry through to completion, resubmitting after short transfers.
struct Transfer {
  int fd = -1;
  bool write = false;
  uint64_t offset = 0;
  std::byte* data = nullptr;
  size_t length = 0;
  size_t done = 0;
  int error = 0;      // errno of the failure, 0 if none
  bool finished = false;
};

void Prepare(io_uring_sqe* sqe, Transfer& t, uint64_t index) {
  std::byte* p = t.data + t.done;
  unsigned n = static_cast<unsigned>(t.length - t.done);
  if (t.write) {
    io_uring_prep_write(sqe, t.fd, p, n, t.offset + t.done);
  } else {
    io_uring_prep_read(sqe, t.fd, p, n, t.offset + t.done);
  }
  io_uring_sqe_set_data64(sqe, index);
}

// Applies one completion. A read of 0 bytes is end of file; a write of 0 bytes cannot make
// progress and is an I/O error.
void Complete(Transfer& t, int res) {
  if (res < 0) {
    t.error = -res;
    t.finished = true;
  } else if (res == 0) {
    if (t.write) t.error = EIO;
    t.finished = true;
  } else {
    t.done += static_cast<size_t>(res);
    t.finished = t.done >= t.length;
  }
}

// Runs every transfer to completion on this thread's ring. Returns an errno-style code only
// if the ring itself failed; per-transfer errors are in each Transfer.
int RunTransfers(std::vector<Transfer>& transfers) {
  Ring& ring = ThreadRing();
  if (ring.init_error() != 0) return ring.init_error();
  io_uring* r = ring.get();
  size_t next = 0;          // first transfer never submitted
  std::vector<size_t> retry;  // short transfers to resubmit
  size_t in_flight = 0;
  while (next < transfers.size() || !retry.empty() || in_flight > 0) {
    while ((next < transfers.size() || !retry.empty()) && in_flight < kRingEntries) {
      io_uring_sqe* sqe = io_uring_get_sqe(r);
      if (sqe == nullptr) break;
      size_t i;
      if (!retry.empty()) {
        i = retry.back();
        retry.pop_back();
      } else {
        i = next++;
      }
      Prepare(sqe, transfers[i], i);
      ++in_flight;
    }
    int rc = io_uring_submit_and_wait(r, 1);
    if (rc < 0 && rc != -EINTR) return -rc;
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
  return 0;
}

int RunFsync(int fd) {
  Ring& ring = ThreadRing();
  if (ring.init_error() != 0) return ring.init_error();
  io_uring* r = ring.get();
  io_uring_sqe* sqe = io_uring_get_sqe(r);
  if (sqe == nullptr) return EBUSY;
  io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
  io_uring_sqe_set_data64(sqe, 0);
  int rc = io_uring_submit_and_wait(r, 1);
  if (rc < 0) return -rc;
  io_uring_cqe* cqe;
  rc = io_uring_wait_cqe(r, &cqe);
  if (rc < 0) return -rc;
  int res = cqe->res;
  io_uring_cqe_seen(r, cqe);
  return res < 0 ? -res : 0;
}

class UringFile final : public File {
 public:
  UringFile(int fd, std::string path, bool direct)
      : fd_(fd), path_(std::move(path)), direct_(direct) {}
  ~UringFile() override { ::close(fd_); }

  absl::Status Write(std::span<const WriteOp> ops, bool sync) override {
    std::vector<Transfer> transfers;
    transfers.reserve(ops.size());
    for (const WriteOp& op : ops) {
      transfers.push_back(Transfer{fd_, true, op.offset, const_cast<std::byte*>(op.data.data()),
                                   op.data.size()});
    }
    if (int err = RunTransfers(transfers); err != 0) return ErrnoToStatus(err, "io_uring");
    for (const Transfer& t : transfers) {
      if (t.error != 0) return ErrnoToStatus(t.error, "write " + path_);
    }
    if (sync) {
      if (int err = RunFsync(fd_); err != 0) return ErrnoToStatus(err, "fdatasync " + path_);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<size_t> Read(uint64_t offset, ByteSpan buf) override {
    std::vector<Transfer> transfers{Transfer{fd_, false, offset, buf.data(), buf.size()}};
    if (int err = RunTransfers(transfers); err != 0) return ErrnoToStatus(err, "io_uring");
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
};

class UringFileSystem final : public FileSystem {
 public:
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
    return std::unique_ptr<File>(new UringFile(fd, path, direct));
  }

  void ReadBatch(std::span<ReadOp> ops) override {
    std::vector<Transfer> transfers;
    transfers.reserve(ops.size());
    for (ReadOp& op : ops) {
      auto* f = static_cast<UringFile*>(op.file);
      transfers.push_back(Transfer{f->fd(), false, op.offset, op.buf.data(), op.buf.size()});
    }
    int err = RunTransfers(transfers);
    for (size_t i = 0; i < ops.size(); ++i) {
      int e = err != 0 ? err : transfers[i].error;
      if (e != 0) {
        ops[i].result = ErrnoToStatus(e, "read " + static_cast<UringFile*>(ops[i].file)->path());
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
  std::atomic<bool> warned_{false};
};

}  // namespace

void FileSystem::ReadBatch(std::span<ReadOp> ops) {
  for (ReadOp& op : ops) op.result = op.file->Read(op.offset, op.buf);
}

std::unique_ptr<FileSystem> NewUringFileSystem() { return std::make_unique<UringFileSystem>(); }

}  // namespace mosaic::node::io
