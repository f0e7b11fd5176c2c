// Integration tests of the storage node (issue 2): the real `mosaic node` binary on loopback,
// driven over gRPC, killed, restarted and corrupted on disk. Nothing here sleeps to wait for
// something it could poll; every loop is bounded in count and time.

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
namespace {

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

std::string Printable(std::string_view id) {
  bool text = std::all_of(id.begin(), id.end(), [](char c) { return c >= 0x21 && c < 0x7f; });
  return text ? std::string(id) : "0x" + HexEncode(AsBytes(id));
}

// Runs fn(i) for every i in [0, count) on `threads` threads. fn returns an error message or
// nothing. Returns the first few messages; stops handing out work after ten.
std::vector<std::string> ParallelFor(int threads, size_t count,
                                     const std::function<std::optional<std::string>(size_t)>& fn) {
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

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += "\n  " + l;
  return out;
}

#define EXPECT_NO_ERRORS(errors) EXPECT_TRUE((errors).empty()) << Join(errors)

// Returns nothing when `id` reads back whole, byte-identical, with the right length and CRC.
std::optional<std::string> CheckReadsBack(const ChunkClient& client, const ChunkSpec& spec) {
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
std::vector<std::pair<std::string, double>> MetricLines(const std::string& text,
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
uint64_t FolderBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_regular_file(ec)) total += entry.file_size(ec);
  }
  return total;
}

// Polls `done` every 20 ms until it returns true or `timeout` passes; returns its last value.
bool PollUntil(milliseconds timeout, const std::function<bool()>& done) {
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
std::vector<ChunkSpec> MixedChunks(size_t count) {
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

TEST_F(NodeTest, TenThousandMixedChunksRoundTripListAndDelete) {
  ASSERT_NO_FATAL_FAILURE(StartNode());
  const std::vector<ChunkSpec> chunks = MixedChunks(10'000);
  uint64_t total_bytes = 0;
  for (const ChunkSpec& c : chunks) total_bytes += c.size;
  ASSERT_LE(total_bytes, 1024 * kMiB);
  ChunkClient client = node_->Client();

  // Put with 8 concurrent writers, each on its own channel.
  std::vector<ChunkClient> writers;
  for (int t = 0; t < 8; ++t) writers.push_back(node_->Client());
  std::vector<std::string> errors =
      ParallelFor(8, chunks.size(), [&](size_t i) -> std::optional<std::string> {
        std::string data = chunks[i].Data();
        Reply<v1::PutChunkResponse> put = writers[i % writers.size()].Put(chunks[i].id, data);
        if (!put.ok()) return "put " + Printable(chunks[i].id) + ": " + Describe(put.status);
        if (!put.response.created()) return "put " + Printable(chunks[i].id) + ": created = false";
        if (put.response.crc32c() != Crc32c(AsBytes(data))) return "put: wrong crc32c in response";
        return std::nullopt;
      });
  ASSERT_TRUE(errors.empty()) << Join(errors);

  Reply<v1::NodeInfo> info = client.Info();
  ASSERT_GRPC_OK(info);
  EXPECT_EQ(info.response.tenant().chunk_count(), chunks.size());
  EXPECT_GE(info.response.tenant().used_bytes(), total_bytes);
  EXPECT_GE(info.response.used_bytes(), info.response.tenant().used_bytes());

  // Read back whole, then a random range of each, and the edges of the large ones.
  errors =
      ParallelFor(8, chunks.size(), [&](size_t i) { return CheckReadsBack(client, chunks[i]); });
  EXPECT_NO_ERRORS(errors);
  errors = ParallelFor(8, chunks.size(), [&](size_t i) -> std::optional<std::string> {
    const ChunkSpec& c = chunks[i];
    std::mt19937_64 rng(c.seed ^ 0x5eed);
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    uint64_t offset = rng() % c.size;
    ranges.push_back({offset, rng() % (c.size - offset + 1)});  // length 0 = to the end
    if (c.size >= kMiB) {
      ranges.push_back({c.size - 1, 1});
      ranges.push_back({0, c.size});
      ranges.push_back({c.size / 2, 0});
      ranges.push_back({4095, 4098});
    }
    std::string data = c.Data();
    for (auto [off, len] : ranges) {
      Reply<v1::GetChunkResponse> got = client.Get(c.id, off, len);
      std::string where = "range " + Printable(c.id) + " [" + std::to_string(off) + ", +" +
                          std::to_string(len) + ") of " + std::to_string(c.size);
      if (!got.ok()) return where + ": " + Describe(got.status);
      if (got.response.data() != data.substr(off, len == 0 ? std::string::npos : len)) {
        return where + ": wrong bytes";
      }
      if (got.response.chunk_length() != c.size) return where + ": wrong chunk_length";
    }
    return std::nullopt;
  });
  EXPECT_NO_ERRORS(errors);
  for (size_t i = 0; i < chunks.size(); i += 50) {
    Reply<v1::ChunkInfo> stat = client.Stat(chunks[i].id);
    ASSERT_GRPC_OK(stat);
    EXPECT_EQ(stat.response.chunk_id(), chunks[i].id);
    EXPECT_EQ(stat.response.length(), chunks[i].size);
    EXPECT_EQ(stat.response.crc32c(), Crc32c(AsBytes(chunks[i].Data())));
  }

  // List in pages: every id exactly once, in byte order, with its length.
  std::map<std::string, const ChunkSpec*> by_id;
  for (const ChunkSpec& c : chunks) by_id[c.id] = &c;  // std::string orders bytewise (unsigned)
  for (uint32_t page_size : {777u, 10'000u}) {
    Reply<std::vector<v1::ChunkInfo>> listed = client.ListAll(page_size);
    ASSERT_GRPC_OK(listed);
    ASSERT_EQ(listed.response.size(), chunks.size()) << "page size " << page_size;
    auto expected = by_id.begin();
    for (const v1::ChunkInfo& info : listed.response) {
      ASSERT_EQ(Printable(info.chunk_id()), Printable(expected->first))
          << "page size " << page_size;
      EXPECT_EQ(info.length(), expected->second->size);
      ++expected;
    }
  }
  Reply<v1::ListChunksResponse> first_page = client.List("", 0);
  ASSERT_GRPC_OK(first_page);
  EXPECT_EQ(first_page.response.chunks_size(), 1000) << "page_size 0 means 1000";
  EXPECT_FALSE(first_page.response.next_page_token().empty());

  // Delete everything: then NOT_FOUND, an empty listing and no usage.
  errors = ParallelFor(8, chunks.size(), [&](size_t i) -> std::optional<std::string> {
    Reply<v1::DeleteChunkResponse> del = client.Delete(chunks[i].id);
    if (!del.ok()) return "delete " + Printable(chunks[i].id) + ": " + Describe(del.status);
    if (!del.response.existed()) return "delete " + Printable(chunks[i].id) + ": existed = false";
    return std::nullopt;
  });
  EXPECT_NO_ERRORS(errors);
  errors = ParallelFor(8, chunks.size(), [&](size_t i) -> std::optional<std::string> {
    Reply<v1::GetChunkResponse> got = client.Get(chunks[i].id);
    if (got.code() != grpc::StatusCode::NOT_FOUND) {
      return "get after delete " + Printable(chunks[i].id) + ": " + Describe(got.status);
    }
    return std::nullopt;
  });
  EXPECT_NO_ERRORS(errors);
  Reply<v1::DeleteChunkResponse> again = client.Delete(chunks[0].id);
  EXPECT_GRPC_OK(again);
  EXPECT_FALSE(again.response.existed());
  Reply<v1::ListChunksResponse> empty = client.List("", 100);
  ASSERT_GRPC_OK(empty);
  EXPECT_EQ(empty.response.chunks_size(), 0);
  EXPECT_TRUE(empty.response.next_page_token().empty());
  info = client.Info();
  ASSERT_GRPC_OK(info);
  EXPECT_EQ(info.response.tenant().used_bytes(), 0u);
  EXPECT_EQ(info.response.tenant().chunk_count(), 0u);
}

TEST_F(NodeTest, AckedChunksSurviveKill9DuringConcurrentPuts) {
  ASSERT_NO_FATAL_FAILURE(StartNode());
  LoadWriters::Result all;
  for (int round = 0; round < 2; ++round) {
    LoadWriters writers(*node_, "kill" + std::to_string(round), 8, 5000);
    ASSERT_TRUE(writers.WaitForAcks(300, seconds(60))) << "only " << writers.acked() << " acks";
    int wait_status = node_->Kill();
    ASSERT_TRUE(WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL);
    LoadWriters::Result result = writers.Join();
    EXPECT_FALSE(result.unacked.empty()) << "the kill should interrupt the writers";
    for (auto& s : result.acked) all.acked.push_back(std::move(s));
    for (auto& s : result.unacked) all.unacked.push_back(std::move(s));
    ASSERT_NO_FATAL_FAILURE(RestartNode());
    ASSERT_NO_FATAL_FAILURE(ExpectWritesSurvived(all)) << "after kill " << round;
  }
}

TEST_F(NodeTest, SigtermUnderLoadExitsZeroAndLosesNoAckedChunk) {
  ASSERT_NO_FATAL_FAILURE(StartNode());
  LoadWriters writers(*node_, "term", 8, 5000);
  ASSERT_TRUE(writers.WaitForAcks(200, seconds(60))) << "only " << writers.acked() << " acks";
  absl::StatusOr<int> exit_code = node_->Terminate(seconds(60));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0);
  LoadWriters::Result result = writers.Join();
  for (const grpc::Status& s : result.stop_statuses) {
    // A shutting-down node refuses new requests and finishes the ones it has accepted.
    // gRPC refuses with UNAVAILABLE, or CANCELLED for calls it had received but not yet
    // handed to the service when shutdown began; nothing else may fail. (Whether a refused
    // put was stored is what ExpectWritesSurvived allows either way: it was not acked.)
    EXPECT_TRUE(s.error_code() == grpc::StatusCode::UNAVAILABLE ||
                s.error_code() == grpc::StatusCode::CANCELLED)
        << Describe(s);
  }
  ASSERT_NO_FATAL_FAILURE(RestartNode());
  ExpectWritesSurvived(result);
}

// A record header as docs/formats/segment.md describes it, for a payload of `payload_size`
// bytes whose CRC32C is `payload_crc`.
std::string RecordHeader(const std::string& tenant, const std::string& id, uint64_t payload_size,
                         uint32_t payload_crc, uint64_t sequence) {
  std::string header(256, '\0');
  auto* p = reinterpret_cast<std::byte*>(header.data());
  StoreLE32(p, 0x5243534d);
  StoreLE16(p + 4, 1);
  StoreLE16(p + 6, 1);
  StoreLE32(p + 12, payload_crc);
  StoreLE64(p + 16, payload_size);
  StoreLE64(p + 24, sequence);
  header[32] = char(id.size());
  header[33] = char(tenant.size());
  header.replace(40, id.size(), id);
  header.replace(104, tenant.size(), tenant);
  StoreLE32(p + 8, Crc32c(AsBytes(header)));
  return header;
}

// The segment file with the highest number: the active one while nothing is compacted.
std::string LastSegment(const std::string& segments_dir) {
  std::string last;
  uint64_t last_number = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(segments_dir, ec)) {
    uint64_t number = std::strtoull(entry.path().stem().c_str(), nullptr, 10);
    if (entry.path().extension() == ".seg" && number >= last_number) {
      last_number = number;
      last = entry.path().string();
    }
  }
  return last;
}

void AppendAligned(const std::string& path, const std::string& bytes) {
  int fd = open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0) << path;
  off_t end = lseek(fd, 0, SEEK_END);
  off_t at = (end + 4095) / 4096 * 4096;
  ASSERT_EQ(pwrite(fd, bytes.data(), bytes.size(), at), ssize_t(bytes.size()));
  ASSERT_EQ(fdatasync(fd), 0);
  close(fd);
}

TEST_F(NodeTest, TornRecordsAtTheSegmentTailAreNeverServed) {
  ASSERT_NO_FATAL_FAILURE(StartNode());
  ChunkClient client = node_->Client();
  std::vector<ChunkSpec> acked;
  for (int i = 0; i < 20; ++i) {
    acked.push_back({"acked-" + std::to_string(i), uint64_t(i), 50'000 + size_t(i) * 1000});
    ASSERT_GRPC_OK(client.Put(acked.back().id, acked.back().Data()));
  }
  node_->Kill();

  // What a crash in the middle of a batch leaves: a record whose header made it and whose
  // payload did not (a new chunk, a later sequence number), a half-written copy of an acked
  // chunk's record, and garbage.
  const std::string segment = LastSegment(node_->data_dir() + "/segments");
  ASSERT_FALSE(segment.empty());
  const std::string tenant = node_->options().tenants[0].name;
  const std::string torn_payload = RandomBytes(404, 100'000);
  ASSERT_NO_FATAL_FAILURE(
      AppendAligned(segment, RecordHeader(tenant, "torn", torn_payload.size(),
                                          Crc32c(AsBytes(torn_payload)), uint64_t{1} << 40) +
                                 torn_payload.substr(0, 10'000)));
  const std::string half_acked = acked[3].Data().substr(0, 20'000);
  ASSERT_NO_FATAL_FAILURE(AppendAligned(
      segment, RecordHeader(tenant, acked[3].id, acked[3].size, Crc32c(AsBytes(acked[3].Data())),
                            (uint64_t{1} << 40) + 1) +
                   half_acked));
  ASSERT_NO_FATAL_FAILURE(AppendAligned(segment, RandomBytes(405, 12'345)));

  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE("restart " + std::to_string(round));
    ASSERT_NO_FATAL_FAILURE(RestartNode());
    client = node_->Client();
    EXPECT_GRPC_CODE(client.Get("torn"), NOT_FOUND);
    for (const ChunkSpec& c : acked) EXPECT_EQ(CheckReadsBack(client, c), std::nullopt);
    Reply<std::vector<v1::ChunkInfo>> listed = client.ListAll(1000);
    ASSERT_GRPC_OK(listed);
    EXPECT_EQ(listed.response.size(), acked.size()) << "only acked chunks are listed";
    // New puts land after the discarded tail and survive the next kill.
    if (round == 0) {
      acked.push_back({"after-torn", 406, 70'000});
      ASSERT_GRPC_OK(client.Put(acked.back().id, acked.back().Data()));
      EXPECT_EQ(CheckReadsBack(client, acked.back()), std::nullopt);
      node_->Kill();
    }
  }
}

// Finds `marker` in the node's segment files; returns (path, offset) when it occurs exactly
// once in all of them.
std::optional<std::pair<std::string, size_t>> FindOnce(const std::string& segments_dir,
                                                       const std::string& marker) {
  std::optional<std::pair<std::string, size_t>> found;
  int hits = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(segments_dir, ec)) {
    absl::StatusOr<std::string> bytes = ReadFile(entry.path().string());
    if (!bytes.ok()) continue;
    for (size_t at = bytes->find(marker); at != std::string::npos;
         at = bytes->find(marker, at + 1)) {
      ++hits;
      found = {entry.path().string(), at};
    }
  }
  if (hits != 1) return std::nullopt;
  return found;
}

void FlipByte(const std::string& path, size_t offset) {
  int fd = open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << path;
  char byte = 0;
  ASSERT_EQ(pread(fd, &byte, 1, off_t(offset)), 1);
  byte = char(byte ^ 0x5a);
  ASSERT_EQ(pwrite(fd, &byte, 1, off_t(offset)), 1);
  ASSERT_EQ(fdatasync(fd), 0);
  close(fd);
}

bool ListsCorrupt(const ChunkClient& client, const std::set<std::string>& ids) {
  Reply<v1::NodeInfo> info = client.Info();
  if (!info.ok()) return false;
  std::set<std::string> corrupt(info.response.scrub().corrupt_chunk_ids().begin(),
                                info.response.scrub().corrupt_chunk_ids().end());
  return std::includes(corrupt.begin(), corrupt.end(), ids.begin(), ids.end());
}

TEST_F(NodeTest, FlippedSegmentBytesGiveDataLossAndTheScrubReportsThem) {
  NodeOptions options;
  options.tenants = {{"tenant-a", "token-a-3f9c1d", ""}, {"tenant-b", "token-b-77e0a2", ""}};
  ASSERT_NO_FATAL_FAILURE(StartNode(options));
  ChunkClient client = node_->Client();
  std::vector<ChunkSpec> healthy;
  for (int i = 0; i < 20; ++i)
    healthy.push_back({"healthy-" + std::to_string(i), uint64_t(i), 100'000});
  for (const ChunkSpec& c : healthy) ASSERT_GRPC_OK(client.Put(c.id, c.Data()));

  // Two chunks with unique markers: "read" is corrupted and then read, "scrubbed" is
  // corrupted and never read, so only the background scrub can find it.
  std::map<std::string, std::string> data;
  std::map<std::string, std::string> markers;
  for (const std::string id : {"read", "scrubbed"}) {
    markers[id] = RandomBytes(std::hash<std::string>()(id) ^ 0xc0ffee, 64);
    data[id] = RandomBytes(std::hash<std::string>()(id), 200'000);
    data[id].replace(100'000, 64, markers[id]);
    ASSERT_GRPC_OK(client.Put(id, data[id]));
  }
  for (const std::string id : {"read", "scrubbed"}) {
    auto where = FindOnce(node_->data_dir() + "/segments", markers[id]);
    ASSERT_TRUE(where.has_value()) << "marker of " << id << " not found exactly once";
    ASSERT_NO_FATAL_FAILURE(FlipByte(where->first, where->second + 10));
  }

  Reply<v1::GetChunkResponse> got = client.Get("read");
  EXPECT_GRPC_CODE(got, DATA_LOSS);
  EXPECT_TRUE(got.response.data().empty()) << "corrupt bytes must never be served";
  EXPECT_GRPC_CODE(client.Get("read", 0, 16), DATA_LOSS) << "the whole chunk is verified";
  EXPECT_TRUE(PollUntil(seconds(30), [&] {
    return ListsCorrupt(client, {"read", "scrubbed"});
  })) << "node info never listed both corrupt chunks";
  Reply<v1::NodeInfo> info = client.Info();
  ASSERT_GRPC_OK(info);
  EXPECT_GE(info.response.scrub().chunks_checked(), 1u);
  EXPECT_EQ(info.response.scrub().corrupt_chunk_ids_size(), 2);
  absl::StatusOr<std::string> metrics = HttpGet(node_->metrics_address(), "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  auto lines = MetricLines(*metrics, "mosaic_node_");
  EXPECT_TRUE(std::any_of(
      lines.begin(), lines.end(),
      [](const auto& l) { return l.first.find("corrupt") != std::string::npos && l.second >= 2; }))
      << "the corrupt chunks are not counted in the metrics:\n"
      << *metrics;
  Reply<v1::NodeInfo> other = node_->Client("token-b-77e0a2").Info();
  ASSERT_GRPC_OK(other);
  EXPECT_EQ(other.response.scrub().corrupt_chunk_ids_size(), 0) << "another tenant's findings leak";
  for (const ChunkSpec& c : healthy) EXPECT_EQ(CheckReadsBack(client, c), std::nullopt);

  // After a restart the corruption is still never served and is found again.
  ASSERT_NO_FATAL_FAILURE(StopNode());
  ASSERT_NO_FATAL_FAILURE(RestartNode());
  client = node_->Client();
  EXPECT_GRPC_CODE(client.Get("scrubbed"), DATA_LOSS);
  EXPECT_GRPC_CODE(client.Get("read"), DATA_LOSS);
  EXPECT_TRUE(PollUntil(seconds(30), [&] { return ListsCorrupt(client, {"read", "scrubbed"}); }));
  for (const ChunkSpec& c : healthy) EXPECT_EQ(CheckReadsBack(client, c), std::nullopt);

  // A deleted corrupt chunk is no longer reported.
  Reply<v1::DeleteChunkResponse> del = client.Delete("read");
  ASSERT_GRPC_OK(del);
  EXPECT_TRUE(del.response.existed());
  info = client.Info();
  ASSERT_GRPC_OK(info);
  std::vector<std::string> corrupt(info.response.scrub().corrupt_chunk_ids().begin(),
                                   info.response.scrub().corrupt_chunk_ids().end());
  EXPECT_EQ(corrupt, std::vector<std::string>{"scrubbed"});
}

TEST_F(NodeTest, ASecondNodeCannotListenOnATakenPort) {
  ASSERT_NO_FATAL_FAILURE(StartNode());
  // Two nodes sharing a port (SO_REUSEPORT) would split the clients' connections between
  // two data folders: the second one must fail to start instead.
  NodeOptions second;
  second.listen = node_->grpc_address();
  second.start_timeout = seconds(10);
  absl::StatusOr<std::unique_ptr<NodeProcess>> other = NodeProcess::Start(second);
  EXPECT_FALSE(other.ok()) << "a second node now listens on " << node_->grpc_address();
  ASSERT_GRPC_OK(node_->Client().Put("mine", "data"));
}

TEST_F(NodeTest, MissingOrWrongTokenIsUnauthenticated) {
  ASSERT_NO_FATAL_FAILURE(StartNode());
  const std::string good = node_->options().tenants[0].token;
  for (const std::string& token :
       {std::string(), good + "x", good.substr(1), std::string("Bearer")}) {
    SCOPED_TRACE("token '" + token + "'");
    ChunkClient client = node_->Client(token);
    EXPECT_GRPC_CODE(client.Put("c", "data"), UNAUTHENTICATED);
    EXPECT_GRPC_CODE(client.Get("c"), UNAUTHENTICATED);
    EXPECT_GRPC_CODE(client.Stat("c"), UNAUTHENTICATED);
    EXPECT_GRPC_CODE(client.Delete("c"), UNAUTHENTICATED);
    EXPECT_GRPC_CODE(client.List("", 10), UNAUTHENTICATED);
    EXPECT_GRPC_CODE(client.Info(), UNAUTHENTICATED);
  }
  // A token under another scheme, and the right token without "Bearer ".
  for (const std::string& header : {"Basic " + good, good, "bearer" + good}) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", header);
    v1::PutChunkRequest request;
    request.set_chunk_id("c");
    request.set_data("data");
    v1::PutChunkResponse response;
    grpc::Status status = node_->Client().stub().PutChunk(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << header << ": " << Describe(status);
  }
  ChunkClient client = node_->Client();
  EXPECT_GRPC_CODE(client.Get("c"), NOT_FOUND) << "an unauthenticated put stored something";
  ASSERT_GRPC_OK(client.Put("c", "data"));
}

TEST_F(NodeTest, TokensNeverAppearInLogsOrMetrics) {
  NodeOptions options;
  options.log_level = "trace";
  ASSERT_NO_FATAL_FAILURE(StartNode(options));
  const std::string good = node_->options().tenants[0].token;
  const std::string wrong = "wrong-token-91b2c7d4";
  ASSERT_GRPC_OK(node_->Client().Put("c", "data"));
  ASSERT_GRPC_OK(node_->Client().Get("c"));
  EXPECT_GRPC_CODE(node_->Client(wrong).Put("d", "data"), UNAUTHENTICATED);
  EXPECT_GRPC_CODE(node_->Client(wrong).Get("c"), UNAUTHENTICATED);
  absl::StatusOr<std::string> metrics = HttpGet(node_->metrics_address(), "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  absl::StatusOr<int> exit_code = node_->Terminate();
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  std::string log = node_->ReadLog();
  for (const std::string& secret : {good, wrong}) {
    EXPECT_EQ(log.find(secret), std::string::npos) << "token in the log";
    EXPECT_EQ(metrics->find(secret), std::string::npos) << "token in the metrics";
  }
}

TEST_F(NodeTest, PutOverQuotaIsResourceExhaustedAndWritesNothing) {
  NodeOptions options;
  options.tenants = {{"small", "token-small-5d1e", "1MiB"}, {"big", "token-big-a93c", ""}};
  ASSERT_NO_FATAL_FAILURE(StartNode(options));
  ChunkClient small = node_->Client("token-small-5d1e");
  // 3 x 300,000 B fit in 1 MiB however the node rounds records; a fourth does not.
  for (int i = 0; i < 3; ++i) {
    ASSERT_GRPC_OK(small.Put("fit-" + std::to_string(i), RandomBytes(uint64_t(i), 300'000)));
  }
  Reply<v1::NodeInfo> before = small.Info();
  ASSERT_GRPC_OK(before);
  EXPECT_EQ(before.response.tenant().quota_bytes(), kMiB);
  EXPECT_EQ(before.response.tenant().chunk_count(), 3u);
  EXPECT_GRPC_CODE(small.Put("over", RandomBytes(9, 300'000)), RESOURCE_EXHAUSTED);
  Reply<v1::NodeInfo> after = small.Info();
  ASSERT_GRPC_OK(after);
  EXPECT_EQ(after.response.tenant().used_bytes(), before.response.tenant().used_bytes());
  EXPECT_EQ(after.response.tenant().chunk_count(), 3u);
  EXPECT_GRPC_CODE(small.Get("over"), NOT_FOUND);
  EXPECT_GRPC_CODE(small.Stat("over"), NOT_FOUND);

  // What still fits is accepted; the quota is per tenant; deleting frees quota.
  ASSERT_GRPC_OK(small.Put("small-one", RandomBytes(10, 100'000)));
  ASSERT_GRPC_OK(node_->Client("token-big-a93c").Put("big", RandomBytes(11, 2 * kMiB)));
  ASSERT_GRPC_OK(small.Delete("fit-0"));
  ASSERT_GRPC_OK(small.Put("over", RandomBytes(9, 300'000)));
  EXPECT_EQ(CheckReadsBack(small, {"over", 9, 300'000}), std::nullopt);
  for (int i = 1; i < 3; ++i) {
    EXPECT_EQ(CheckReadsBack(small, {"fit-" + std::to_string(i), uint64_t(i), 300'000}),
              std::nullopt);
  }
}

TEST_F(NodeTest, OversizedChunksAndBadIdsAreInvalidArgument) {
  ASSERT_NO_FATAL_FAILURE(StartNode());
  ChunkClient client = node_->Client();
  EXPECT_GRPC_CODE(client.Put("too-big", RandomBytes(1, kMaxChunk + 1)), INVALID_ARGUMENT);
  EXPECT_GRPC_CODE(client.Get("too-big"), NOT_FOUND);
  ASSERT_GRPC_OK(client.Put("max", RandomBytes(2, kMaxChunk)));
  EXPECT_GRPC_CODE(client.Put("", "data"), INVALID_ARGUMENT);
  EXPECT_GRPC_CODE(client.Get(""), INVALID_ARGUMENT);
  EXPECT_GRPC_CODE(client.Stat(""), INVALID_ARGUMENT);
  EXPECT_GRPC_CODE(client.Delete(""), INVALID_ARGUMENT);
  const std::string id64(64, 'i');
  EXPECT_GRPC_CODE(client.Put(id64 + "i", "data"), INVALID_ARGUMENT);
  EXPECT_GRPC_CODE(client.Get(id64 + "i"), INVALID_ARGUMENT);
  ASSERT_GRPC_OK(client.Put(id64, "data"));
  EXPECT_EQ(CheckReadsBack(client, {"max", 2, kMaxChunk}), std::nullopt);
  // Reads past the end and bad page sizes.
  EXPECT_GRPC_CODE(client.Get(id64, 5), INVALID_ARGUMENT);
  EXPECT_GRPC_CODE(client.Get("max", kMaxChunk + 1), INVALID_ARGUMENT);
  EXPECT_GRPC_CODE(client.List("", 10'001), INVALID_ARGUMENT);
  Reply<v1::ListChunksResponse> listed = client.List("", 10'000);
  ASSERT_GRPC_OK(listed);
  EXPECT_EQ(listed.response.chunks_size(), 2);
  Reply<v1::NodeInfo> info = client.Info();
  ASSERT_GRPC_OK(info);
  EXPECT_EQ(info.response.tenant().chunk_count(), 2u);
}

TEST_F(NodeTest, SameIdWithOtherBytesIsAlreadyExistsAndKeepsTheOriginal) {
  ASSERT_NO_FATAL_FAILURE(StartNode());
  ChunkClient client = node_->Client();
  const ChunkSpec original{"same-id", 1, 50'000};
  Reply<v1::PutChunkResponse> first = client.Put(original.id, original.Data());
  ASSERT_GRPC_OK(first);
  EXPECT_TRUE(first.response.created());
  Reply<v1::NodeInfo> before = client.Info();
  ASSERT_GRPC_OK(before);

  Reply<v1::PutChunkResponse> again = client.Put(original.id, original.Data());
  ASSERT_GRPC_OK(again) << "same id, same bytes is idempotent";
  EXPECT_FALSE(again.response.created());
  EXPECT_EQ(again.response.crc32c(), first.response.crc32c());
  std::string flipped = original.Data();
  flipped[25'000] ^= 1;
  EXPECT_GRPC_CODE(client.Put(original.id, flipped), ALREADY_EXISTS);
  EXPECT_GRPC_CODE(client.Put(original.id, RandomBytes(2, 50'000)), ALREADY_EXISTS);
  EXPECT_GRPC_CODE(client.Put(original.id, RandomBytes(3, 60'000)), ALREADY_EXISTS);
  EXPECT_GRPC_CODE(client.Put(original.id, ""), ALREADY_EXISTS);
  EXPECT_EQ(CheckReadsBack(client, original), std::nullopt);
  Reply<v1::NodeInfo> after = client.Info();
  ASSERT_GRPC_OK(after);
  EXPECT_EQ(after.response.tenant().used_bytes(), before.response.tenant().used_bytes());
  EXPECT_EQ(after.response.tenant().chunk_count(), 1u);
  node_->Kill();
  ASSERT_NO_FATAL_FAILURE(RestartNode());
  EXPECT_EQ(CheckReadsBack(node_->Client(), original), std::nullopt);
}

TEST_F(NodeTest, TenantsCannotSeeOrTouchEachOthersChunks) {
  NodeOptions options;
  options.tenants = {{"alpha", "token-alpha-0c4f", ""}, {"beta", "token-beta-e17a", ""}};
  ASSERT_NO_FATAL_FAILURE(StartNode(options));
  ChunkClient alpha = node_->Client("token-alpha-0c4f");
  ChunkClient beta = node_->Client("token-beta-e17a");
  const ChunkSpec mine{"shared-name", 7, 10'000};
  ASSERT_GRPC_OK(alpha.Put(mine.id, mine.Data()));

  EXPECT_GRPC_CODE(beta.Get(mine.id), NOT_FOUND);
  EXPECT_GRPC_CODE(beta.Stat(mine.id), NOT_FOUND);
  Reply<v1::ListChunksResponse> listed = beta.List("", 100);
  ASSERT_GRPC_OK(listed);
  EXPECT_EQ(listed.response.chunks_size(), 0);
  Reply<v1::DeleteChunkResponse> del = beta.Delete(mine.id);
  ASSERT_GRPC_OK(del);
  EXPECT_FALSE(del.response.existed());
  Reply<v1::NodeInfo> info = beta.Info();
  ASSERT_GRPC_OK(info);
  EXPECT_EQ(info.response.tenant().name(), "beta");
  EXPECT_EQ(info.response.tenant().chunk_count(), 0u);
  EXPECT_EQ(info.response.tenant().used_bytes(), 0u);

  // Ids are per tenant: beta's chunk of the same name neither collides with nor replaces alpha's.
  const ChunkSpec theirs{"shared-name", 8, 20'000};
  Reply<v1::PutChunkResponse> put = beta.Put(theirs.id, theirs.Data());
  EXPECT_GRPC_OK(put);
  EXPECT_EQ(CheckReadsBack(alpha, mine), std::nullopt);
  EXPECT_EQ(CheckReadsBack(beta, theirs), std::nullopt);
  ASSERT_GRPC_OK(alpha.Delete(mine.id));
  EXPECT_EQ(CheckReadsBack(beta, theirs), std::nullopt);
  Reply<v1::ListChunksResponse> alpha_list = alpha.List("", 100);
  ASSERT_GRPC_OK(alpha_list);
  EXPECT_EQ(alpha_list.response.chunks_size(), 0);
}

TEST_F(NodeTest, CompactionReclaimsDeletedSpaceAndSurvivesRestart) {
  ASSERT_NO_FATAL_FAILURE(StartNode());  // 16 MiB segments
  ChunkClient client = node_->Client();
  std::vector<ChunkSpec> chunks;
  for (int i = 0; i < 128; ++i)
    chunks.push_back({"compact-" + std::to_string(1000 + i), uint64_t(i), kMiB - 1000});
  std::vector<std::string> errors =
      ParallelFor(4, chunks.size(), [&](size_t i) -> std::optional<std::string> {
        Reply<v1::PutChunkResponse> put = client.Put(chunks[i].id, chunks[i].Data());
        if (!put.ok()) return "put " + chunks[i].id + ": " + Describe(put.status);
        return std::nullopt;
      });
  ASSERT_TRUE(errors.empty()) << Join(errors);
  const std::string segments = node_->data_dir() + "/segments";
  const uint64_t full_bytes = FolderBytes(segments);
  ASSERT_GE(full_bytes, 128 * (kMiB - 1000));

  std::vector<ChunkSpec> survivors;
  std::vector<ChunkSpec> deleted;
  for (size_t i = 0; i < chunks.size(); ++i)
    (i % 8 == 0 ? survivors : deleted).push_back(chunks[i]);
  for (const ChunkSpec& c : deleted) ASSERT_GRPC_OK(client.Delete(c.id));
  uint64_t now_bytes = full_bytes;
  EXPECT_TRUE(PollUntil(seconds(60),
                        [&] {
                          now_bytes = FolderBytes(segments);
                          return now_bytes <= full_bytes / 2;
                        }))
      << "segments still hold " << now_bytes << " of " << full_bytes << " bytes";
  for (const ChunkSpec& c : survivors) EXPECT_EQ(CheckReadsBack(client, c), std::nullopt);

  node_->Kill();  // compaction and deletes must survive kill -9 too
  ASSERT_NO_FATAL_FAILURE(RestartNode());
  client = node_->Client();
  for (const ChunkSpec& c : survivors) EXPECT_EQ(CheckReadsBack(client, c), std::nullopt);
  for (const ChunkSpec& c : deleted) EXPECT_GRPC_CODE(client.Get(c.id), NOT_FOUND) << c.id;
  Reply<std::vector<v1::ChunkInfo>> listed = client.ListAll(1000);
  ASSERT_GRPC_OK(listed);
  ASSERT_EQ(listed.response.size(), survivors.size());
  for (size_t i = 0; i < survivors.size(); ++i)
    EXPECT_EQ(listed.response[i].chunk_id(), survivors[i].id);
  Reply<v1::NodeInfo> info = client.Info();
  ASSERT_GRPC_OK(info);
  EXPECT_EQ(info.response.tenant().chunk_count(), survivors.size());
  EXPECT_LE(FolderBytes(segments), full_bytes / 2) << "space came back after the restart";
  // The node keeps working after compaction.
  ASSERT_GRPC_OK(client.Put("after", RandomBytes(99, kMiB)));
  EXPECT_EQ(CheckReadsBack(client, {"after", 99, kMiB}), std::nullopt);
}

TEST_F(NodeTest, FullDiskIsResourceExhaustedAndKeepsStoredChunks) {
  ASSERT_NO_FATAL_FAILURE(StartNodeOnSmallDisk());
  if (IsSkipped()) return;
  ChunkClient client = node_->Client();

  std::vector<ChunkSpec> acked;
  grpc::Status refused;
  for (int i = 0; i < 200; ++i) {
    ChunkSpec spec{"fill-" + std::to_string(1000 + i), uint64_t(i), 1000 * kKiB};
    Reply<v1::PutChunkResponse> put = client.Put(spec.id, spec.Data());
    if (!put.ok()) {
      refused = put.status;
      EXPECT_GRPC_CODE(client.Get(spec.id), NOT_FOUND) << "a refused put left something behind";
      break;
    }
    acked.push_back(spec);
  }
  ASSERT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << Describe(refused);
  EXPECT_GE(acked.size(), 16u) << "the disk filled up suspiciously early";
  ASSERT_TRUE(node_->Running());
  for (const ChunkSpec& c : acked) EXPECT_EQ(CheckReadsBack(client, c), std::nullopt);
  // A small put may or may not fit, but it never breaks anything.
  Reply<v1::PutChunkResponse> tiny = client.Put("tiny", "x");
  EXPECT_TRUE(tiny.ok() || tiny.code() == grpc::StatusCode::RESOURCE_EXHAUSTED)
      << Describe(tiny.status);

  // Delete three in four; once compaction has reclaimed the space, puts succeed again.
  std::vector<ChunkSpec> kept;
  for (size_t i = 0; i < acked.size(); ++i) {
    if (i % 4 == 0) {
      kept.push_back(acked[i]);
    } else {
      ASSERT_GRPC_OK(client.Delete(acked[i].id));
    }
  }
  ChunkSpec after{"after-delete", 4242, 1000 * kKiB};
  Reply<v1::PutChunkResponse> put;
  EXPECT_TRUE(PollUntil(seconds(60),
                        [&] {
                          put = client.Put(after.id, after.Data());
                          return put.ok();
                        }))
      << "puts still fail after deleting 3/4 of the data: " << Describe(put.status);
  if (put.ok()) kept.push_back(after);
  for (const ChunkSpec& c : kept) EXPECT_EQ(CheckReadsBack(client, c), std::nullopt);

  ASSERT_NO_FATAL_FAILURE(StopNode());
  ASSERT_NO_FATAL_FAILURE(RestartNode());
  client = node_->Client();
  for (const ChunkSpec& c : kept) EXPECT_EQ(CheckReadsBack(client, c), std::nullopt);
}

// Fills the filesystem holding `path` by writing a file there until ENOSPC. Returns the
// bytes written.
uint64_t FillDisk(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return 0;
  const std::string block(kMiB, 'f');
  uint64_t written = 0;
  for (size_t step : {kMiB, 4 * kKiB, size_t{512}}) {
    for (int i = 0; i < 100'000; ++i) {
      ssize_t n = write(fd, block.data(), step);
      if (n <= 0) break;
      written += uint64_t(n);
    }
  }
  fsync(fd);
  close(fd);
  return written;
}

TEST_F(NodeTest, DiskFilledByAnotherProcessNeitherCrashesTheNodeNorLosesChunks) {
  ASSERT_NO_FATAL_FAILURE(StartNodeOnSmallDisk());
  if (IsSkipped()) return;
  ChunkClient client = node_->Client();
  std::vector<ChunkSpec> chunks;
  for (int i = 0; i < 10; ++i) {
    chunks.push_back({"before-" + std::to_string(i), uint64_t(i), 500 * kKiB});
    ASSERT_GRPC_OK(client.Put(chunks.back().id, chunks.back().Data()));
  }

  // Someone else takes every free byte: puts are refused, reads still work, and whatever a
  // delete answers, the node stays up.
  const std::string filler = disk_->dir() + "/filler";
  ASSERT_GT(FillDisk(filler), 0u);
  EXPECT_GRPC_CODE(client.Put("while-full", RandomBytes(1, 100'000)), RESOURCE_EXHAUSTED);
  EXPECT_GRPC_CODE(client.Put("while-full-tiny", "x"), RESOURCE_EXHAUSTED);
  Reply<v1::DeleteChunkResponse> del = client.Delete(chunks[0].id);
  ASSERT_TRUE(node_->Running()) << "a delete on a full disk crashed the node";
  EXPECT_TRUE(del.ok() || del.code() == grpc::StatusCode::RESOURCE_EXHAUSTED)
      << Describe(del.status);
  if (del.ok()) chunks.erase(chunks.begin());
  for (const ChunkSpec& c : chunks) EXPECT_EQ(CheckReadsBack(client, c), std::nullopt);
  Reply<std::vector<v1::ChunkInfo>> listed = client.ListAll(100);
  EXPECT_GRPC_OK(listed);
  ASSERT_TRUE(node_->Running());

  // Once the space is back, the node takes puts and deletes again without a restart.
  ASSERT_EQ(unlink(filler.c_str()), 0);
  const ChunkSpec after{"after-full", 4243, 500 * kKiB};
  Reply<v1::PutChunkResponse> put;
  EXPECT_TRUE(PollUntil(seconds(30),
                        [&] {
                          put = client.Put(after.id, after.Data());
                          return put.ok();
                        }))
      << "puts still fail once the disk has room again: " << Describe(put.status);
  if (put.ok()) chunks.push_back(after);
  Reply<v1::DeleteChunkResponse> del_again = client.Delete(chunks[0].id);
  EXPECT_GRPC_OK(del_again);
  if (del_again.ok()) chunks.erase(chunks.begin());
  for (const ChunkSpec& c : chunks) EXPECT_EQ(CheckReadsBack(client, c), std::nullopt);

  ASSERT_NO_FATAL_FAILURE(StopNode());
  ASSERT_NO_FATAL_FAILURE(RestartNode());
  client = node_->Client();
  for (const ChunkSpec& c : chunks) EXPECT_EQ(CheckReadsBack(client, c), std::nullopt);
}

TEST_F(NodeTest, MetricsExposeRequestCountersAndLatencyHistograms) {
  ASSERT_NO_FATAL_FAILURE(StartNode());
  ChunkClient client = node_->Client();
  for (int i = 0; i < 5; ++i) {
    ASSERT_GRPC_OK(client.Put("m" + std::to_string(i), RandomBytes(uint64_t(i), 10'000)));
    ASSERT_GRPC_OK(client.Get("m" + std::to_string(i)));
  }
  EXPECT_GRPC_CODE(client.Get("absent"), NOT_FOUND);
  absl::StatusOr<std::string> text = HttpGet(node_->metrics_address(), "/metrics");
  ASSERT_TRUE(text.ok()) << text.status();
  auto lines = MetricLines(*text, "mosaic_node_");
  ASSERT_FALSE(lines.empty()) << *text;
  auto any = [&](const std::function<bool(const std::string&, double)>& match) {
    return std::any_of(lines.begin(), lines.end(),
                       [&](const auto& l) { return match(l.first, l.second); });
  };
  EXPECT_TRUE(any([](const std::string& name, double v) {
    return name.find("request") != std::string::npos && name.find("_total") != std::string::npos &&
           v >= 5;
  })) << "no request counter reached 5:\n"
      << *text;
  EXPECT_TRUE(any([](const std::string& name, double v) {
    return name.find("_bucket{") != std::string::npos &&
           name.find("le=\"+Inf\"") != std::string::npos && v >= 5;
  })) << "no histogram with 5 observations:\n"
      << *text;
  EXPECT_NE(text->find("# TYPE mosaic_node_"), std::string::npos);
  EXPECT_NE(text->find(" histogram"), std::string::npos);
  EXPECT_TRUE(any([](const std::string& name, double v) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    return lower.find("not_found") != std::string::npos && v >= 1;
  })) << "errors are not counted by code:\n"
      << *text;
}

// Sends `bytes` on a fresh TCP connection to `address`, reads whatever comes back for a
// moment, and closes.
void SendRaw(const std::string& address, const std::string& bytes) {
  size_t colon = address.rfind(':');
  sockaddr_in sa = {};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(uint16_t(std::stoi(address.substr(colon + 1))));
  ASSERT_EQ(inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr), 1);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  timeval tv = {0, 200'000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  [[maybe_unused]] ssize_t sent = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  char buf[4096];
  for (int i = 0; i < 16 && recv(fd, buf, sizeof(buf), 0) > 0; ++i) {
  }
  close(fd);
}

TEST_F(NodeTest, GarbageOnTheGrpcPortDoesNotHurtTheNode) {
  ASSERT_NO_FATAL_FAILURE(StartNode());
  ChunkClient client = node_->Client();
  const ChunkSpec kept{"kept", 5, 30'000};
  ASSERT_GRPC_OK(client.Put(kept.id, kept.Data()));
  const std::string preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  const std::vector<std::string> inputs = {
      "",
      RandomBytes(1, 65'536),
      "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
      preface + RandomBytes(2, 4096),
      // A SETTINGS frame of a bad length, then a HEADERS frame claiming 16 MiB.
      preface + std::string("\x00\x00\x05\x04\x00\x00\x00\x00\x00\x01\x02\x03\x04\x05", 14),
      preface + std::string("\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9) +
          std::string("\xff\xff\xff\x01\x04\x00\x00\x00\x01", 9) + RandomBytes(3, 1000),
  };
  for (size_t i = 0; i < inputs.size(); ++i) {
    ASSERT_NO_FATAL_FAILURE(SendRaw(node_->grpc_address(), inputs[i])) << "input " << i;
    ASSERT_TRUE(node_->Running()) << "the node died on input " << i;
    absl::Status serving = node_->CheckServing(seconds(10));
    ASSERT_TRUE(serving.ok()) << "input " << i << ": " << serving;
  }

  // A well-framed gRPC call whose protobuf is garbage.
  grpc::GenericStub generic(node_->NewChannel());
  for (const std::string& payload :
       {std::string("\xff\xff\xff\xff", 4), std::string("\x0a\xff\xff\xff\x7f", 5),
        RandomBytes(4, 1000)}) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + node_->options().tenants[0].token);
    context.set_deadline(std::chrono::system_clock::now() + seconds(10));
    grpc::Slice slice(payload);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    std::promise<grpc::Status> done;
    generic.UnaryCall(&context, "/mosaic.v1.ChunkService/PutChunk", grpc::StubOptions(), &request,
                      &response, [&done](grpc::Status s) { done.set_value(std::move(s)); });
    grpc::Status status = done.get_future().get();
    EXPECT_FALSE(status.ok()) << "garbage protobuf accepted";
  }
  ASSERT_TRUE(node_->Running());
  ASSERT_TRUE(node_->CheckServing(seconds(10)).ok());
  EXPECT_EQ(CheckReadsBack(client, kept), std::nullopt);
  ASSERT_GRPC_OK(client.Put("still-works", "yes"));
}

TEST_F(NodeTest, PutWithWrongCrcIsDataLossAndStoresNothing) {
  ASSERT_NO_FATAL_FAILURE(StartNode());
  ChunkClient client = node_->Client();
  const ChunkSpec spec{"crc", 77, 40'000};
  const std::string data = spec.Data();
  const uint32_t crc = Crc32c(AsBytes(data));
  EXPECT_GRPC_CODE(client.PutWithCrc(spec.id, data, crc ^ 1), DATA_LOSS);
  EXPECT_GRPC_CODE(client.PutWithCrc(spec.id, data, 0), DATA_LOSS);
  EXPECT_GRPC_CODE(client.Get(spec.id), NOT_FOUND);
  Reply<v1::NodeInfo> info = client.Info();
  ASSERT_GRPC_OK(info);
  EXPECT_EQ(info.response.tenant().chunk_count(), 0u);
  EXPECT_EQ(info.response.tenant().used_bytes(), 0u);
  // The field is optional; with it right, or absent, the put succeeds.
  ASSERT_GRPC_OK(client.PutWithCrc(spec.id, data, crc));
  ASSERT_GRPC_OK(client.PutWithCrc("no-crc", "abc", std::nullopt));
  EXPECT_EQ(CheckReadsBack(client, spec), std::nullopt);
  Reply<v1::GetChunkResponse> got = client.Get("no-crc");
  ASSERT_GRPC_OK(got);
  EXPECT_EQ(got.response.data(), "abc");
}

}  // namespace
}  // namespace mosaic::test
