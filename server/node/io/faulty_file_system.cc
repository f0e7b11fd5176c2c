#include "server/node/io/faulty_file_system.h"

#include <algorithm>
#include <random>
#include <vector>

#include "absl/strings/match.h"
#include "common/status.h"

namespace mosaic::node::io {

struct FaultyFileSystem::Data {
  std::string current;
  std::string durable;
  struct Unsynced {
    uint64_t offset;
    std::string bytes;
  };
  std::vector<Unsynced> unsynced;  // writes since the last sync, in order
};

struct FaultyFileSystem::State {
  std::mutex mu;
  std::map<std::string, std::shared_ptr<Data>> files;          // current names
  std::map<std::string, std::shared_ptr<Data>> durable_files;  // names as of the last SyncDir
  std::set<std::string> dirs;
  int fail_after = -1;  // ops left before the injected failure; -1 = none
  int fail_errno = 0;
  size_t fail_partial = 0;
  uint64_t space_limit = UINT64_MAX;
  bool fail_reads = false;
  uint64_t writes = 0;

  uint64_t UsedBytes() const {
    uint64_t used = 0;
    for (const auto& [name, d] : files) used += d->current.size();
    return used;
  }
};

namespace {

std::string Parent(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

void Apply(std::string& contents, uint64_t offset, std::string_view bytes) {
  if (contents.size() < offset + bytes.size()) contents.resize(offset + bytes.size(), '\0');
  std::copy(bytes.begin(), bytes.end(), contents.begin() + static_cast<ptrdiff_t>(offset));
}

class FaultyFile final : public File {
 public:
  FaultyFile(std::shared_ptr<FaultyFileSystem::State> state,
             std::shared_ptr<FaultyFileSystem::Data> data, std::string path)
      : state_(std::move(state)), data_(std::move(data)), path_(std::move(path)) {}

  absl::Status Write(std::span<const WriteOp> ops, bool sync) override {
    std::lock_guard lock(state_->mu);
    for (const WriteOp& op : ops) {
      std::string_view bytes = AsStringView(op.data);
      int err = 0;
      if (state_->fail_after == 0) {
        state_->fail_after = -1;
        err = state_->fail_errno;
        bytes = bytes.substr(0, std::min(bytes.size(), state_->fail_partial));
      } else if (state_->fail_after > 0) {
        --state_->fail_after;
      }
      uint64_t used = state_->UsedBytes();
      uint64_t room = used < state_->space_limit ? state_->space_limit - used : 0;
      uint64_t limit_end = data_->current.size() + room;  // the file may grow to here
      if (op.offset + bytes.size() > limit_end) {
        bytes = bytes.substr(0, limit_end > op.offset ? limit_end - op.offset : 0);
        err = ENOSPC;
      }
      Apply(data_->current, op.offset, bytes);
      data_->unsynced.push_back({op.offset, std::string(bytes)});
      ++state_->writes;
      if (err != 0) return ErrnoToStatus(err, "write " + path_);
    }
    if (sync) SyncLocked();
    return absl::OkStatus();
  }

  absl::StatusOr<size_t> Read(uint64_t offset, ByteSpan buf) override {
    std::lock_guard lock(state_->mu);
    if (state_->fail_reads) return ErrnoToStatus(EIO, "read " + path_);
    if (offset >= data_->current.size()) return size_t{0};
    size_t n = std::min<size_t>(buf.size(), data_->current.size() - offset);
    std::memcpy(buf.data(), data_->current.data() + offset, n);
    return n;
  }

  absl::Status Truncate(uint64_t size) override {
    std::lock_guard lock(state_->mu);
    data_->current.resize(size, '\0');
    SyncLocked();
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> Size() override {
    std::lock_guard lock(state_->mu);
    return data_->current.size();
  }

  bool direct() const override { return true; }

 private:
  void SyncLocked() {
    data_->durable = data_->current;
    data_->unsynced.clear();
  }

  std::shared_ptr<FaultyFileSystem::State> state_;
  std::shared_ptr<FaultyFileSystem::Data> data_;
  std::string path_;
};

}  // namespace

FaultyFileSystem::FaultyFileSystem() : state_(std::make_shared<State>()) {}
FaultyFileSystem::~FaultyFileSystem() = default;

void FaultyFileSystem::FailWriteAfter(int ops, int err, size_t partial_bytes) {
  std::lock_guard lock(state_->mu);
  state_->fail_after = ops;
  state_->fail_errno = err;
  state_->fail_partial = partial_bytes;
}

void FaultyFileSystem::SetSpaceLimit(uint64_t bytes) {
  std::lock_guard lock(state_->mu);
  state_->space_limit = bytes;
}

void FaultyFileSystem::FailReads(bool on) {
  std::lock_guard lock(state_->mu);
  state_->fail_reads = on;
}

void FaultyFileSystem::Crash(bool torn, uint32_t seed) {
  std::lock_guard lock(state_->mu);
  std::mt19937 rng(seed);
  state_->files = state_->durable_files;
  for (auto& [name, d] : state_->files) {
    std::string survivor = d->durable;
    if (torn) {
      for (const auto& w : d->unsynced) {
        size_t keep = std::uniform_int_distribution<size_t>(0, w.bytes.size())(rng);
        Apply(survivor, w.offset, std::string_view(w.bytes).substr(0, keep));
      }
    }
    d->current = d->durable = survivor;
    d->unsynced.clear();
  }
}

void FaultyFileSystem::FlipByte(const std::string& path, uint64_t offset) {
  std::lock_guard lock(state_->mu);
  auto& d = state_->files.at(path);
  d->current.at(offset) ^= 0x5a;
  if (offset < d->durable.size()) d->durable[offset] ^= 0x5a;
}

uint64_t FaultyFileSystem::FileSize(const std::string& path) {
  std::lock_guard lock(state_->mu);
  auto it = state_->files.find(path);
  return it == state_->files.end() ? 0 : it->second->current.size();
}

uint64_t FaultyFileSystem::writes() const {
  std::lock_guard lock(state_->mu);
  return state_->writes;
}

absl::StatusOr<std::unique_ptr<File>> FaultyFileSystem::Open(const std::string& path, bool create) {
  std::lock_guard lock(state_->mu);
  auto it = state_->files.find(path);
  if (it == state_->files.end()) {
    if (!create) return absl::NotFoundError("open " + path + ": no such file");
    it = state_->files.emplace(path, std::make_shared<Data>()).first;
  }
  return std::unique_ptr<File>(new FaultyFile(state_, it->second, path));
}

absl::Status FaultyFileSystem::Remove(const std::string& path) {
  std::lock_guard lock(state_->mu);
  if (state_->files.erase(path) == 0) return absl::NotFoundError("unlink " + path);
  return absl::OkStatus();
}

absl::Status FaultyFileSystem::CreateDir(const std::string& path) {
  std::lock_guard lock(state_->mu);
  state_->dirs.insert(path);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> FaultyFileSystem::ListDir(const std::string& dir) {
  std::lock_guard lock(state_->mu);
  std::vector<std::string> names;
  for (const auto& [path, d] : state_->files) {
    if (Parent(path) == dir) names.push_back(path.substr(dir.size() + 1));
  }
  return names;
}

absl::Status FaultyFileSystem::SyncDir(const std::string& dir) {
  std::lock_guard lock(state_->mu);
  for (auto it = state_->durable_files.begin(); it != state_->durable_files.end();) {
    if (Parent(it->first) == dir && !state_->files.contains(it->first)) {
      it = state_->durable_files.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [path, d] : state_->files) {
    if (Parent(path) == dir) state_->durable_files[path] = d;
  }
  return absl::OkStatus();
}

absl::StatusOr<DiskSpace> FaultyFileSystem::GetSpace(const std::string&) {
  std::lock_guard lock(state_->mu);
  uint64_t used = state_->UsedBytes();
  uint64_t capacity = state_->space_limit == UINT64_MAX ? (uint64_t{1} << 40) : state_->space_limit;
  return DiskSpace{capacity, capacity > used ? capacity - used : 0};
}

}  // namespace mosaic::node::io
