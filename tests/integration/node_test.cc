// Integration tests of the storage node (issue 2): the real `mosaic node` binary on loopback,
// driven over gRPC, killed, restarted and corrupted on disk. Nothing here sleeps to wait for
// something it could poll; every loop is bounded in count and time.

#include "tests/integration/node_fixture.h"

namespace mosaic::test {
namespace {

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

// Issue 19: where io_uring is forbidden (Docker's default seccomp profile,
// kernel.io_uring_disabled) the node uses pread/pwrite with fdatasync, and says so when it
// starts. Forced here through storage.io_engine: chunks round-trip, and survive kill -9.
TEST_F(NodeTest, WithoutIoUringChunksRoundTripAndSurviveKill9) {
  NodeOptions options;
  options.io_engine = "posix";
  options.segment_size = "4MiB";
  ASSERT_NO_FATAL_FAILURE(StartNode(options));
  EXPECT_NE(node_->ReadLog().find("I/O through pread/pwrite with fdatasync"), std::string::npos)
      << "the node does not say that it runs without io_uring";
  std::vector<ChunkSpec> chunks;
  std::mt19937_64 rng(19);
  for (int i = 0; i < 200; ++i) {
    size_t size = i % 50 == 0 ? 2 * kMiB + 7 : 1 + rng() % (256 * kKiB);
    chunks.push_back({"posix-" + std::to_string(i), rng(), size});
  }
  std::vector<std::string> errors =
      ParallelFor(4, chunks.size(), [&](size_t i) -> std::optional<std::string> {
        Reply<v1::PutChunkResponse> put = node_->Client().Put(chunks[i].id, chunks[i].Data());
        if (!put.ok()) return "put " + Printable(chunks[i].id) + ": " + Describe(put.status);
        return std::nullopt;
      });
  ASSERT_TRUE(errors.empty()) << Join(errors);
  ChunkClient client = node_->Client();
  errors =
      ParallelFor(4, chunks.size(), [&](size_t i) { return CheckReadsBack(client, chunks[i]); });
  EXPECT_NO_ERRORS(errors);
  node_->Kill();
  ASSERT_NO_FATAL_FAILURE(RestartNode());
  client = node_->Client();
  errors =
      ParallelFor(4, chunks.size(), [&](size_t i) { return CheckReadsBack(client, chunks[i]); });
  EXPECT_NO_ERRORS(errors);
  EXPECT_GRPC_OK(client.Delete(chunks[0].id));
  EXPECT_GRPC_CODE(client.Get(chunks[0].id), NOT_FOUND);
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

}  // namespace
}  // namespace mosaic::test
