#include "server/node/fences.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace mosaic::node {
namespace {

absl::Status Errno(const std::string& what, const std::string& path) {
  return absl::UnavailableError(what + " " + path + ": " + std::strerror(errno));
}

absl::Status SyncPath(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open", path);
  int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? absl::OkStatus() : Errno("cannot sync", path);
}

}  // namespace

absl::StatusOr<std::unique_ptr<FenceStore>> FenceStore::Open(const std::string& data_dir) {
  auto store = std::unique_ptr<FenceStore>(new FenceStore(data_dir + "/fences"));
  std::ifstream in(store->path_);
  if (!in) {
    if (errno == ENOENT) return store;
    return Errno("cannot read", store->path_);
  }
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    uint64_t generation = 0;
    std::string tenant;
    if (!(fields >> generation >> tenant) || !fields.eof()) {
      return absl::DataLossError(store->path_ + ": a line is not \"generation tenant\"");
    }
    store->highest_[tenant] = generation;
  }
  return store;
}

uint64_t FenceStore::Highest(const std::string& tenant) const {
  std::lock_guard lock(mu_);
  auto it = highest_.find(tenant);
  return it == highest_.end() ? 0 : it->second;
}

absl::Status FenceStore::Admit(const std::string& tenant, uint64_t generation) {
  uint64_t highest = Highest(tenant);
  if (generation == highest) return absl::OkStatus();
  if (generation > highest) return Raise(tenant, generation).status();
  return absl::FailedPreconditionError(
      "tenant " + tenant + ": this gateway's generation " + std::to_string(generation) +
      " is fenced off: generation " + std::to_string(highest) +
      " has taken over (a restored gateway); writes and deletes of an older generation are "
      "refused, reads still work: stop this gateway");
}

absl::StatusOr<uint64_t> FenceStore::Raise(const std::string& tenant, uint64_t generation) {
  for (char c : tenant) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '\0') {
      return absl::InvalidArgumentError("tenant name with white space: cannot be fenced");
    }
  }
  std::lock_guard lock(mu_);
  uint64_t& highest = highest_[tenant];
  if (generation <= highest) return highest;
  std::map<std::string, uint64_t> next = highest_;
  next[tenant] = generation;
  absl::Status saved = Save(next);
  if (!saved.ok()) return saved;
  highest = generation;
  return highest;
}

// Tenant names are words from the node's config (no white space), so one line each.
absl::Status FenceStore::Save(const std::map<std::string, uint64_t>& highest) const {
  std::string text;
  for (const auto& [tenant, generation] : highest) {
    if (generation > 0) text += std::to_string(generation) + " " + tenant + "\n";
  }
  std::string tmp = path_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot create", tmp);
  bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                 ::fsync(fd) == 0;
  ::close(fd);
  if (!written) return Errno("cannot write", tmp);
  if (::rename(tmp.c_str(), path_.c_str()) != 0) return Errno("cannot rename", tmp);
  return SyncPath(std::filesystem::path(path_).parent_path().string(), O_RDONLY | O_DIRECTORY);
}

}  // namespace mosaic::node
