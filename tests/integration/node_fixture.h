#pragma once
// Shared by the node integration tests (node_test.cc, node_limits_test.cc): the fixture that
// runs the real `mosaic node`, load writers, and helpers.

#include <arpa/inet.h>
#include <fcntl.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "common/crc32c.h"
#include "tests/support/node_process.h"

namespace mosaic::test {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * 1024;
constexpr size_t kMaxChunk = 8 * kMiB;

#define ASSERT_GRPC_OK(reply) ASSERT_TRUE((reply).ok()) << Describe((reply).status)
#define EXPECT_GRPC_OK(reply) EXPECT_TRUE((reply).ok()) << Describe((reply).status)
#define EXPECT_GRPC_CODE(reply, expected) \
  EXPECT_EQ((reply).code(), grpc::StatusCode::expected) << Describe((reply).status)

// A chunk described by its id and the seed and size of its bytes (regenerated on demand,
// so the tests never hold a gigabyte of expected data).
struct ChunkSpec {
  std::string id;
  uint64_t seed = 0;
  size_t size = 0;
  std::string Data() const { return RandomBytes(seed, size); }
};

inline std::string Printable(std::string_view id) {
  bool text = std::all_of(id.begin(), id.end(), [](char c) { return c >= 0x21 && c < 0x7f; });
  return text ? std::string(id) : "0x" + HexEncode(AsBytes(id));
}

// Runs fn(i) for every i in [0, count) on `threads` threads. fn returns an error message or
// nothing. Returns the first few messages; stops handing out work after ten.
inline std::vector<std::string> ParallelFor(
    int threads, size_t count, const std::function<std::optional<std::string>(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::vector<std::string> errors;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (size_t i = next++; i < count; i = next++) {
        std::optional<std::string> error = fn(i);
        if (!error) continue;
        std::lock_guard<std::mutex> lock(mu);
        if (errors.size() < 10) errors.push_back(std::move(*error));
        if (errors.size() >= 10) next = count;
      }
    });
  }
  for (std::thread& w : workers) w.join();
  return errors;
}

inline std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += "\n  " + l;
  return out;
}

#define EXPECT_NO_ERRORS(errors) EXPECT_TRUE((errors).empty()) << Join(errors)

// Returns nothing when `id` reads back whole, byte-identical, with the right length and CRC.
inline std::optional<std::string> CheckReadsBack(const ChunkClient& client, const ChunkSpec& spec) {
  Reply<v1::GetChunkResponse> got = client.Get(spec.id);
  if (!got.ok()) return "get " + Printable(spec.id) + ": " + Describe(got.status);
  std::string data = spec.Data();
  if (got.response.data() != data) {
    return "get " + Printable(spec.id) + ": wrong bytes (" +
           std::to_string(got.response.data().size()) + " bytes, expected " +
           std::to_string(data.size()) + ")";
  }
  if (got.response.chunk_length() != data.size() ||
      got.response.chunk_crc32c() != Crc32c(AsBytes(data))) {
    return "get " + Printable(spec.id) + ": wrong chunk_length or chunk_crc32c";
  }
  return std::nullopt;
}

// Metric lines "name{labels} value" whose name starts with `prefix`.
inline std::vector<std::pair<std::string, double>> MetricLines(const std::string& text,
                                                               const std::string& prefix) {
  std::vector<std::pair<std::string, double>> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    lines.push_back({line.substr(0, space), std::strtod(line.c_str() + space + 1, nullptr)});
  }
  return lines;
}

// Sum of the sizes of the files in `dir` (0 if it does not exist).
inline uint64_t FolderBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_regular_file(ec)) total += entry.file_size(ec);
  }
  return total;
}

// Polls `done` every 20 ms until it returns true or `timeout` passes; returns its last value.
inline bool PollUntil(milliseconds timeout, const std::function<bool()>& done) {
  Clock::time_point deadline = Clock::now() + timeout;
  while (true) {
    if (done()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(20));
  }
}

// Writers that put fresh chunks as fast as they can, each on its own channel, until the
// node stops answering or they have written `max_per_thread` chunks.
class LoadWriters {
 public:
  struct Result {
    std::vector<ChunkSpec> acked;
    std::vector<ChunkSpec> unacked;  // attempted, no answer or an error: outcome unknown
    std::vector<grpc::Status> stop_statuses;
  };

  LoadWriters(const NodeProcess& node, const std::string& prefix, int threads,
              size_t max_per_thread) {
    for (int t = 0; t < threads; ++t) {
      threads_.emplace_back([this, client = node.Client(), prefix, t, max_per_thread] {
        std::mt19937_64 rng(std::hash<std::string>()(prefix) + uint64_t(t));
        std::uniform_real_distribution<double> log_size(std::log(1024.0), std::log(1024.0 * 1024));
        for (size_t n = 0; n < max_per_thread && !stop_; ++n) {
          ChunkSpec spec{prefix + "-t" + std::to_string(t) + "-" + std::to_string(n), rng(),
                         size_t(std::exp(log_size(rng)))};
          Reply<v1::PutChunkResponse> put = client.Put(spec.id, spec.Data());
          std::lock_guard<std::mutex> lock(mu_);
          if (put.ok()) {
            result_.acked.push_back(std::move(spec));
            ++acked_;
          } else {
            result_.unacked.push_back(std::move(spec));
            result_.stop_statuses.push_back(put.status);
            return;
          }
        }
      });
    }
  }
  ~LoadWriters() {
    stop_ = true;
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  size_t acked() const { return acked_; }
  // True once `n` puts are acknowledged (within `timeout`).
  bool WaitForAcks(size_t n, milliseconds timeout) const {
    return PollUntil(timeout, [&] { return acked_ >= n; });
  }
  Result Join() {
    for (std::thread& t : threads_) t.join();
    threads_.clear();
    return std::move(result_);
  }

 private:
  std::mutex mu_;
  Result result_;
  std::atomic<size_t> acked_{0};
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

// A tmpfs of a fixed size mounted on a fresh folder, unmounted and removed on destruction.
class TmpfsMount {
 public:
  explicit TmpfsMount(const std::string& size) {
    char pattern[] = "/var/tmp/mosaic-tmpfs-XXXXXX";
    if (mkdtemp(pattern) == nullptr) return;
    dir_ = pattern;
    std::string options = "size=" + size + ",mode=0755";
    if (mount("tmpfs", dir_.c_str(), "tmpfs", 0, options.c_str()) == 0) {
      mounted_ = true;
    } else {
      error_ = std::strerror(errno);
    }
  }
  ~TmpfsMount() {
    if (mounted_) umount2(dir_.c_str(), MNT_DETACH);
    if (!dir_.empty()) rmdir(dir_.c_str());
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string error_ = "mkdtemp failed";
};

class NodeTest : public ::testing::Test {
 protected:
  void StartNode(NodeOptions options = {}) {
    absl::StatusOr<std::unique_ptr<NodeProcess>> node = NodeProcess::Start(std::move(options));
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = *std::move(node);
  }
  // SIGTERM; the node must exit 0.
  void StopNode() {
    absl::StatusOr<int> exit_code = node_->Terminate();
    ASSERT_TRUE(exit_code.ok()) << exit_code.status();
    ASSERT_EQ(*exit_code, 0);
  }
  // Starts the stopped (or killed) node again on the same data.
  void RestartNode() {
    absl::Status restarted = node_->Restart();
    ASSERT_TRUE(restarted.ok()) << restarted;
  }
  // Starts a node whose data folder is on a fresh 128 MiB tmpfs (room for the index's
  // headroom, RocksDB's preallocated log and a dozen segments), with 1 MiB reserved free
  // space and 4 MiB segments (four 1000 KiB chunks each, so deletes leave sparse segments).
  // Skips the test when not root or when no tmpfs can be mounted.
  void StartNodeOnSmallDisk() {
    if (geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs as the data folder needs root";
    disk_ = std::make_unique<TmpfsMount>("128m");
    if (!disk_->mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << disk_->error();
    NodeOptions options;
    options.data_dir = disk_->dir() + "/data";
    options.reserved_free = "1MiB";
    options.segment_size = "4MiB";
    StartNode(options);
  }
  void TearDown() override {
    if (node_ != nullptr && HasFailure()) {
      if (!node_->Running() && !node_->unexpected_exit().empty()) {
        std::cerr << "---- the node " << node_->unexpected_exit() << "\n";
      }
      std::cerr << "---- node log " << node_->log_path() << " (tail) ----\n"
                << node_->ReadLog(16384) << "\n---- end of node log ----\n";
    }
    node_.reset();
    disk_.reset();  // after the node has stopped
  }

  // Every acked chunk reads back byte-identical; every unacked one is NOT_FOUND or
  // byte-identical, never anything else; the listing holds nothing but those chunks.
  void ExpectWritesSurvived(const LoadWriters::Result& writes) {
    ChunkClient client = node_->Client();
    std::vector<std::string> errors = ParallelFor(
        4, writes.acked.size(), [&](size_t i) { return CheckReadsBack(client, writes.acked[i]); });
    EXPECT_NO_ERRORS(errors);
    for (const ChunkSpec& spec : writes.unacked) {
      Reply<v1::GetChunkResponse> got = client.Get(spec.id);
      if (got.code() == grpc::StatusCode::NOT_FOUND) continue;
      EXPECT_GRPC_OK(got) << " unacked " << spec.id;
      EXPECT_TRUE(got.response.data() == spec.Data()) << "unacked " << spec.id << " served torn";
    }
    std::set<std::string> known;
    for (const ChunkSpec& s : writes.acked) known.insert(s.id);
    for (const ChunkSpec& s : writes.unacked) known.insert(s.id);
    Reply<std::vector<v1::ChunkInfo>> listed = client.ListAll(1000);
    ASSERT_GRPC_OK(listed);
    EXPECT_GE(listed.response.size(), writes.acked.size());
    for (const v1::ChunkInfo& info : listed.response) {
      EXPECT_TRUE(known.count(info.chunk_id()))
          << "listed unknown chunk " << Printable(info.chunk_id());
    }
  }

  std::unique_ptr<TmpfsMount> disk_;
  std::unique_ptr<NodeProcess> node_;
};

// 10,000 chunks from 1 B to 8 MiB: most small (log-uniform up to 64 KiB), ~100 large
// (log-uniform 1..8 MiB, plus exactly 8 MiB), ids mixing text and binary bytes.
inline std::vector<ChunkSpec> MixedChunks(size_t count) {
  std::mt19937_64 rng(20240611);
  std::set<std::string> ids;
  std::vector<ChunkSpec> chunks;
  std::uniform_real_distribution<double> small(0.0, std::log(64.0 * kKiB));
  std::uniform_real_distribution<double> large(std::log(1.0 * kMiB), std::log(8.0 * kMiB));
  std::uniform_int_distribution<int> id_len(1, 64);
  for (size_t i = 0; i < count; ++i) {
    ChunkSpec spec;
    do {
      if (i % 4 == 0) {
        spec.id = RandomBytes(rng(), size_t(id_len(rng)));  // binary, incl. 0x00 and 0xff
      } else if (i % 97 == 0) {
        spec.id = std::string(64 - 6, 'x') + std::to_string(100000 + i).substr(0, 6);
      } else {
        spec.id = "chunk/" + std::to_string(rng() % 100'000'000);
      }
    } while (!ids.insert(spec.id).second);
    spec.seed = rng();
    if (i == 0) {
      spec.size = 1;
    } else if (i == 1) {
      spec.size = kMaxChunk;
    } else if (i < 100) {
      spec.size = size_t(std::exp(large(rng)));
    } else {
      spec.size = size_t(std::exp(small(rng)));
    }
    chunks.push_back(std::move(spec));
  }
  std::shuffle(chunks.begin(), chunks.end(), rng);
  return chunks;
}

}  // namespace mosaic::test
