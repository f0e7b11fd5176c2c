#include "server/node/store/segment_store.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <future>
#include <random>

#include "common/buffer_pool.h"
#include "common/crc32c.h"
#include "rocksdb/db.h"
#include "server/node/io/faulty_file_system.h"
#include "server/node/store/internal/store_impl.h"
#include "server/node/store/record.h"

namespace mosaic::node {
namespace {

namespace fs = std::filesystem;

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

class SegmentStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The index is a real RocksDB in a temp folder; segment files live in the faulty FS.
    dir_ = fs::temp_directory_path() /
           ("mosaic-store-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    options_.dir = dir_.string();
    options_.segment_size_bytes = 1 << 20;
    options_.reserved_free_bytes = 0;
    options_.index_headroom_bytes = 0;
    options_.scrub_bytes_per_second = 0;
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  void Reopen() {
    store_.reset();
    auto s = SegmentStore::Open(options_, &fs_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }

  absl::StatusOr<PutResult> Put(const std::string& id, const std::string& data, uint64_t quota = 0,
                                const std::string& tenant = "t", uint64_t max_chunks = 0) {
    std::promise<absl::StatusOr<PutResult>> p;
    store_->Put(tenant, id, AsBytes(data), TenantLimits{quota, max_chunks},
                [&](auto r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  absl::StatusOr<std::string> Get(const std::string& id, uint64_t offset = 0, uint64_t length = 0,
                                  const std::string& tenant = "t") {
    std::promise<absl::StatusOr<GetResult>> p;
    store_->Get(tenant, id, offset, length, [&](auto r) { p.set_value(std::move(r)); });
    auto r = p.get_future().get();
    if (!r.ok()) return r.status();
    std::string data(reinterpret_cast<const char*>(r->data().data()), r->data().size());
    mosaic::BufferPool::Global().Give(std::move(r->record));
    return data;
  }
  absl::StatusOr<bool> Delete(const std::string& id, const std::string& tenant = "t") {
    std::promise<absl::StatusOr<bool>> p;
    store_->Delete(tenant, id, [&](auto r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  absl::StatusOr<std::vector<ChunkEntry>> List(const std::string& after, size_t limit,
                                               const std::string& tenant = "t") {
    std::promise<absl::StatusOr<std::vector<ChunkEntry>>> p;
    store_->List(tenant, after, limit, [&](auto r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  std::string SegmentPath(uint64_t n) {
    return options_.dir + "/segments/" + std::to_string(n) + ".seg";
  }

  fs::path dir_;
  StoreOptions options_;
  io::FaultyFileSystem fs_;
  std::unique_ptr<SegmentStore> store_;
};

TEST_F(SegmentStoreTest, PutGetWholeAndRanges) {
  std::string data = RandomBytes(10000, 1);
  auto put = Put("a", data);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_TRUE(put->created);
  EXPECT_EQ(put->crc, Crc32c(AsBytes(data)));
  EXPECT_EQ(*Get("a"), data);
  EXPECT_EQ(*Get("a", 100, 50), data.substr(100, 50));
  EXPECT_EQ(*Get("a", 9990, 1000), data.substr(9990));
  EXPECT_EQ(*Get("a", 10000), "");
  EXPECT_EQ(Get("a", 10001).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Get("missing").status().code(), absl::StatusCode::kNotFound);
}

// Issue 14: the writer thread copied every chunk into a record of its own. A chunk given
// inside a record-sized buffer is framed there (header before it, zero padding after) and
// that buffer is what is written.
TEST_F(SegmentStoreTest, PutInPlaceFramesTheCallersBufferAsTheRecord) {
  std::string data = RandomBytes(10000, 2);
  AlignedBuffer record(RecordSize(data.size()) + 4096);
  std::memset(record.data(), 0x77, record.size());
  std::memcpy(record.data() + kRecordHeaderSize, data.data(), data.size());
  std::promise<absl::StatusOr<PutResult>> p;
  store_->PutInPlace("t", "in-place", record.span(), data.size(), TenantLimits{},
                     [&](auto r) { p.set_value(std::move(r)); });
  auto put = p.get_future().get();
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(put->crc, Crc32c(AsBytes(data)));
  auto header = ParseRecordHeader(record.span());
  ASSERT_TRUE(header.ok()) << "no record header was written before the chunk: " << header.status();
  EXPECT_EQ(header->chunk_id, "in-place");
  EXPECT_EQ(header->payload_length, data.size());
  size_t end = kRecordHeaderSize + data.size();
  for (size_t i = end; i < RecordSize(data.size()); ++i) {
    ASSERT_EQ(record.data()[i], std::byte{0}) << "padding at " << i;
  }
  EXPECT_EQ(record.data()[RecordSize(data.size())], std::byte{0x77}) << "written past the record";
  EXPECT_EQ(*Get("in-place"), data);
  Reopen();
  EXPECT_EQ(*Get("in-place"), data);

  std::promise<absl::StatusOr<PutResult>> small;
  store_->PutInPlace("t", "small", record.span().first(4096), data.size(), TenantLimits{},
                     [&](auto r) { small.set_value(std::move(r)); });
  EXPECT_EQ(small.get_future().get().status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SegmentStoreTest, EmptyChunkIsRefused) {
  uint64_t writes = fs_.writes();
  EXPECT_EQ(Put("empty", "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(fs_.writes(), writes);
  EXPECT_EQ(Get("empty").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Usage("t").chunks, 0u);
}

TEST_F(SegmentStoreTest, PutIsIdempotentForSameBytesOnly) {
  ASSERT_TRUE(Put("a", "hello").ok());
  auto again = Put("a", "hello");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(Put("a", "world").status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Put("a", "hello!").status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(*Get("a"), "hello");
  EXPECT_EQ(store_->Usage("t").chunks, 1u);
}

TEST_F(SegmentStoreTest, ConcurrentPutsOfSameIdInOneBatch) {
  std::vector<std::promise<absl::StatusOr<PutResult>>> promises(8);
  std::string data = RandomBytes(5000, 3);
  std::string other = RandomBytes(5000, 4);
  for (int i = 0; i < 8; ++i) {
    store_->Put("t", "same", AsBytes(i == 7 ? other : data), TenantLimits{},
                [&, i](auto r) { promises[i].set_value(std::move(r)); });
  }
  int created = 0, existing = 0, conflicts = 0;
  for (auto& p : promises) {
    auto r = p.get_future().get();
    if (r.ok()) {
      (r->created ? created : existing)++;
    } else if (r.status().code() == absl::StatusCode::kAlreadyExists) {
      conflicts++;
    }
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(existing, 6);
  EXPECT_EQ(conflicts, 1);
  EXPECT_EQ(*Get("same"), data);
}

TEST_F(SegmentStoreTest, RejectsBadArguments) {
  EXPECT_EQ(Put("", "x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Put(std::string(65, 'i'), "x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Put("big", std::string(options_.max_chunk_bytes + 1, 'x')).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Put("max", std::string(options_.max_chunk_bytes, 'x')).ok());
  EXPECT_EQ(Get("big").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(SegmentStoreTest, QuotaRefusesWithoutWriting) {
  // Two records of 4 KiB and their index entries fit; a third does not.
  const uint64_t quota = 2 * (4096 + kIndexBytesPerChunk) + 100;
  ASSERT_TRUE(Put("a", std::string(600, 'a'), quota).ok());
  ASSERT_TRUE(Put("b", std::string(3000, 'b'), quota).ok());
  uint64_t writes = fs_.writes();
  EXPECT_EQ(Put("c", std::string(1, 'c'), quota).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(fs_.writes(), writes);
  EXPECT_EQ(store_->Usage("t").bytes, 2 * (4096 + kIndexBytesPerChunk));
  // Another tenant has its own quota.
  EXPECT_TRUE(Put("c", std::string(500, 'c'), quota, "u").ok());
}

// Issue 18, finding 3: with usage counted in payload bytes, a 1 MiB tenant grew a node's
// disk by 164 MB with 40,001 tiny chunks. Charged what they cost, they stop at the quota.
TEST_F(SegmentStoreTest, TinyChunksCannotGrowTheDiskPastTheQuota) {
  options_.segment_size_bytes = 64 << 20;
  Reopen();
  const uint64_t quota = 1 << 20;
  uint64_t start = fs_.FileSize(SegmentPath(1));
  int accepted = 0;
  absl::Status refused;
  for (int i = 0; i < 5000 && refused.ok(); ++i) {
    auto put = Put("tiny-" + std::to_string(i), "x", quota);
    if (put.ok()) ++accepted;
    refused = put.status();
  }
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted) << refused;
  EXPECT_EQ(uint64_t(accepted), quota / ChargedSize(1));
  EXPECT_LE(fs_.FileSize(SegmentPath(1)) - start + accepted * kIndexBytesPerChunk, quota);
  EXPECT_LE(store_->Usage("t").bytes, quota);
  EXPECT_EQ(store_->Usage("t").bytes, accepted * ChargedSize(1));
}

// An index written before usage was charged holds payload bytes in a 16-byte value: the
// store recomputes the charged bytes from the tenant's chunks when it opens.
TEST_F(SegmentStoreTest, PayloadUsageOfAnOlderNodeIsRechargedOnOpen) {
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(Put("c" + std::to_string(i), std::string(100 * (i + 1), 'x')).ok());
  store_.reset();
  {
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), options_.dir + "/index", &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    std::string legacy(16, '\0');
    legacy[0] = char(600 % 256);
    legacy[1] = char(600 / 256);
    legacy[8] = 3;
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "ut", legacy).ok());
  }
  Reopen();
  EXPECT_EQ(store_->Usage("t").chunks, 3u);
  EXPECT_EQ(store_->Usage("t").bytes, ChargedSize(100) + ChargedSize(200) + ChargedSize(300));
  Reopen();  // written back in the current format
  EXPECT_EQ(store_->Usage("t").bytes, 3 * ChargedSize(100));
}

TEST_F(SegmentStoreTest, ChunkCountIsCappedPerTenant) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Put("c" + std::to_string(i), "x", 0, "t", 3).ok());
  EXPECT_EQ(Put("c3", "x", 0, "t", 3).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(Put("c0", "x", 0, "t", 3).ok()) << "an idempotent put of a stored chunk";
  EXPECT_TRUE(Put("c3", "x", 0, "u", 3).ok()) << "the cap is per tenant";
  ASSERT_TRUE(Delete("c1").ok());
  EXPECT_TRUE(Put("c3", "x", 0, "t", 3).ok());
  EXPECT_EQ(store_->Usage("t").chunks, 3u);
}

TEST_F(SegmentStoreTest, TenantsAreIsolated) {
  ASSERT_TRUE(Put("a", "mine", 0, "t").ok());
  EXPECT_EQ(Get("a", 0, 0, "u").status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(*Delete("a", "u"));
  EXPECT_TRUE(List("", 10, "u")->empty());
  EXPECT_EQ(*Get("a", 0, 0, "t"), "mine");
}

TEST_F(SegmentStoreTest, DeleteFreesUsageAndIsIdempotent) {
  ASSERT_TRUE(Put("a", "12345").ok());
  EXPECT_TRUE(*Delete("a"));
  EXPECT_FALSE(*Delete("a"));
  EXPECT_EQ(Get("a").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Usage("t").bytes, 0u);
  Reopen();
  EXPECT_EQ(Get("a").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Usage("t").chunks, 0u);
}

TEST_F(SegmentStoreTest, ListPagesInByteOrder) {
  std::vector<std::string> ids;
  for (int i = 0; i < 50; ++i) ids.push_back(RandomBytes(1 + i % 20, 100 + i));
  for (const auto& id : ids) ASSERT_TRUE(Put(id, id).ok());
  std::sort(ids.begin(), ids.end());
  std::vector<std::string> listed;
  std::string after;
  for (int page = 0; page < 100; ++page) {
    auto entries = List(after, 7);
    ASSERT_TRUE(entries.ok());
    if (entries->empty()) break;
    for (const auto& e : *entries) listed.push_back(e.chunk_id);
    after = entries->back().chunk_id;
  }
  EXPECT_EQ(listed, ids);
}

TEST_F(SegmentStoreTest, SurvivesReopenAndRollsOverSegments) {
  std::map<std::string, std::string> chunks;
  for (int i = 0; i < 40; ++i) {
    std::string id = "c" + std::to_string(i);
    chunks[id] = RandomBytes(100000 + i, i);
    ASSERT_TRUE(Put(id, chunks[id]).ok());
  }
  EXPECT_GT(store_->SegmentCount(), 3u);
  Reopen();
  for (const auto& [id, data] : chunks) EXPECT_EQ(*Get(id), data) << id;
  EXPECT_EQ(store_->Usage("t").chunks, 40u);
}

TEST_F(SegmentStoreTest, FailedWriteAcknowledgesNothingAndLaterPutsWork) {
  ASSERT_TRUE(Put("before", "safe").ok());
  fs_.FailWriteAfter(0, EIO, 1000);
  auto failed = Put("doomed", RandomBytes(9000, 7));
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Get("doomed").status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(Put("after", "fine").ok());
  Reopen();
  EXPECT_EQ(*Get("before"), "safe");
  EXPECT_EQ(*Get("after"), "fine");
  EXPECT_EQ(Get("doomed").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(SegmentStoreTest, FullDiskIsResourceExhaustedAndCorruptsNothing) {
  std::map<std::string, std::string> chunks;
  for (int i = 0; i < 5; ++i) {
    chunks["k" + std::to_string(i)] = RandomBytes(50000, i);
    ASSERT_TRUE(Put("k" + std::to_string(i), chunks["k" + std::to_string(i)]).ok());
  }
  // ENOSPC in the middle of a record: the write fails, and the tail is cut back.
  fs_.SetSpaceLimit(fs_.FileSize(SegmentPath(1)) + 20000);
  EXPECT_EQ(Put("big", RandomBytes(60000, 9)).status().code(),
            absl::StatusCode::kResourceExhausted);
  for (const auto& [id, data] : chunks) EXPECT_EQ(*Get(id), data);
  Reopen();
  for (const auto& [id, data] : chunks) EXPECT_EQ(*Get(id), data);
  EXPECT_EQ(Get("big").status().code(), absl::StatusCode::kNotFound);
  fs_.SetSpaceLimit(UINT64_MAX);
  EXPECT_TRUE(Put("big", RandomBytes(60000, 9)).ok());
}

TEST_F(SegmentStoreTest, ReserveRefusesBeforeTheDiskIsFull) {
  options_.reserved_free_bytes = 1 << 20;
  Reopen();
  fs_.SetSpaceLimit(fs_.FileSize(SegmentPath(1)) + (1 << 20) + 8192);
  uint64_t writes = fs_.writes();
  EXPECT_EQ(Put("x", RandomBytes(20000, 1)).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(fs_.writes(), writes);
}

TEST_F(SegmentStoreTest, TornTailIsDiscardedOnRecovery) {
  ASSERT_TRUE(Put("a", RandomBytes(5000, 1)).ok());
  std::string b = RandomBytes(7000, 2);
  ASSERT_TRUE(Put("b", b).ok());
  store_.reset();
  // A third record whose header made it to disk but whose payload did not: a torn write.
  uint64_t end = fs_.FileSize(SegmentPath(1));
  std::string payload = RandomBytes(9000, 3);
  AlignedBuffer record = BuildRecord("t", "torn", AsBytes(payload), Crc32c(AsBytes(payload)), 1000);
  auto file = *fs_.Open(SegmentPath(1), false);
  io::WriteOp op{end, record.span().subspan(0, 4096)};
  ASSERT_TRUE(file->Write({&op, 1}, true).ok());
  file.reset();
  Reopen();
  EXPECT_EQ(Get("torn").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(*Get("b"), b);
  EXPECT_EQ(fs_.FileSize(SegmentPath(1)), end);
  ASSERT_TRUE(Put("c", "after recovery").ok());
  Reopen();
  EXPECT_EQ(*Get("c"), "after recovery");
}

// A record written by a newer mosaic (a rollback after an upgrade) is not a torn tail: the
// store refuses to open, naming both versions, and leaves the segment as it is.
TEST_F(SegmentStoreTest, RecordOfANewerFormatIsRefusedNotDiscarded) {
  ASSERT_TRUE(Put("a", "first").ok());
  store_.reset();
  uint64_t end = fs_.FileSize(SegmentPath(1));
  std::string x = RandomBytes(3000, 7);
  AlignedBuffer rx = BuildRecord("t", "x", AsBytes(x), Crc32c(AsBytes(x)), 100);
  StoreLE16(rx.data() + 4, kRecordVersion + 1);
  StoreLE32(rx.data() + 8, 0);
  StoreLE32(rx.data() + 8, Crc32c({rx.data(), kRecordHeaderSize}));
  auto file = *fs_.Open(SegmentPath(1), false);
  io::WriteOp op{end, rx.span()};
  ASSERT_TRUE(file->Write({&op, 1}, true).ok());
  file.reset();
  auto s = SegmentStore::Open(options_, &fs_);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("this mosaic reads version"), std::string::npos)
      << s.status();
  EXPECT_EQ(fs_.FileSize(SegmentPath(1)), end + rx.size());
}

TEST_F(SegmentStoreTest, CompleteRecordsAfterTheCheckpointAreReplayed) {
  ASSERT_TRUE(Put("a", "first").ok());
  store_.reset();
  // Records the index never heard of (it lost its unsynced tail): replay must add them.
  uint64_t end = fs_.FileSize(SegmentPath(1));
  auto file = *fs_.Open(SegmentPath(1), false);
  std::string x = RandomBytes(3000, 5), y = RandomBytes(6000, 6);
  AlignedBuffer rx = BuildRecord("t", "x", AsBytes(x), Crc32c(AsBytes(x)), 100);
  AlignedBuffer ry = BuildRecord("t", "y", AsBytes(y), Crc32c(AsBytes(y)), 101);
  std::vector<io::WriteOp> ops{{end, rx.span()}, {end + rx.size(), ry.span()}};
  ASSERT_TRUE(file->Write(ops, true).ok());
  file.reset();
  Reopen();
  EXPECT_EQ(*Get("x"), x);
  EXPECT_EQ(*Get("y"), y);
  EXPECT_EQ(store_->Usage("t").chunks, 3u);
  EXPECT_EQ(store_->Usage("t").bytes, ChargedSize(5) + ChargedSize(3000) + ChargedSize(6000));
}

TEST_F(SegmentStoreTest, CrashDropsOnlyUnsyncedWrites) {
  std::map<std::string, std::string> acked;
  for (int i = 0; i < 20; ++i) {
    std::string id = "k" + std::to_string(i);
    acked[id] = RandomBytes(30000 + i * 100, i);
    ASSERT_TRUE(Put(id, acked[id]).ok());
  }
  store_.reset();
  // A batch being written when the power went: its records were not synced, and a
  // pseudo-random prefix of them survives. Repeated with several tearing patterns.
  for (uint32_t seed = 0; seed < 5; ++seed) {
    std::string path = SegmentPath(1);
    auto file = *fs_.Open(path, false);
    uint64_t size = fs_.FileSize(path);
    std::string p = RandomBytes(20000, seed);
    AlignedBuffer r = BuildRecord("t", "lost" + std::to_string(seed), AsBytes(p),
                                  Crc32c(AsBytes(p)), 5000 + seed);
    io::WriteOp op{size, r.span()};
    ASSERT_TRUE(file->Write({&op, 1}, false).ok());
    file.reset();
    fs_.Crash(/*torn=*/true, seed);
  }
  Reopen();
  for (const auto& [id, data] : acked) EXPECT_EQ(*Get(id), data) << id;
}

TEST_F(SegmentStoreTest, CorruptionIsDataLossAndRecorded) {
  std::string data = RandomBytes(10000, 1);
  ASSERT_TRUE(Put("victim", data).ok());
  ASSERT_TRUE(Put("bystander", "ok").ok());
  fs_.FlipByte(SegmentPath(1), kRecordHeaderSize + 1234);
  EXPECT_EQ(Get("victim").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(Get("victim", 0, 10).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(*Get("bystander"), "ok");
  EXPECT_EQ(store_->CorruptChunks("t"), std::vector<std::string>{"victim"});
  Reopen();
  EXPECT_EQ(store_->CorruptChunks("t"), std::vector<std::string>{"victim"});
  // The same bytes put again heal it.
  auto healed = Put("victim", data);
  ASSERT_TRUE(healed.ok()) << healed.status();
  EXPECT_EQ(*Get("victim"), data);
  EXPECT_TRUE(store_->CorruptChunks("t").empty());
  EXPECT_EQ(store_->Usage("t").chunks, 2u);
}

TEST_F(SegmentStoreTest, ScrubFindsCorruptionNobodyRead) {
  ASSERT_TRUE(Put("quiet", RandomBytes(8000, 1)).ok());
  ASSERT_TRUE(Put("fine", RandomBytes(8000, 2)).ok());
  fs_.FlipByte(SegmentPath(1), kRecordHeaderSize + 10);
  options_.scrub_bytes_per_second = 1 << 30;
  options_.scrub_interval = std::chrono::milliseconds(1);
  Reopen();
  // Bounded poll: the scrub runs on its own thread.
  for (int i = 0; i < 2000 && store_->Scrub().passes < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_GE(store_->Scrub().passes, 1u);
  EXPECT_EQ(store_->CorruptChunks("t"), std::vector<std::string>{"quiet"});
  EXPECT_GE(store_->Scrub().chunks_checked, 2u);
}

TEST_F(SegmentStoreTest, CompactionReclaimsSpaceAndKeepsSurvivors) {
  std::map<std::string, std::string> keep;
  for (int i = 0; i < 60; ++i) {
    std::string id = "c" + std::to_string(i);
    std::string data = RandomBytes(60000, i);
    ASSERT_TRUE(Put(id, data).ok());
    if (i % 5 == 0) keep[id] = data;
  }
  size_t before = store_->SegmentCount();
  ASSERT_GE(before, 3u);
  for (int i = 0; i < 60; ++i) {
    if (i % 5 != 0) {
      ASSERT_TRUE(*Delete("c" + std::to_string(i)));
    }
  }
  // Compaction runs on the writer thread when idle; poll until segments have been dropped.
  for (int i = 0; i < 2000 && store_->SegmentCount() >= before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_LT(store_->SegmentCount(), before);
  for (const auto& [id, data] : keep) EXPECT_EQ(*Get(id), data) << id;
  Reopen();
  for (const auto& [id, data] : keep) EXPECT_EQ(*Get(id), data) << id;
  EXPECT_EQ(Get("c1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Usage("t").chunks, keep.size());
}

TEST_F(SegmentStoreTest, CloseFailsNewWorkButFinishesQueued) {
  std::vector<std::promise<absl::StatusOr<PutResult>>> promises(20);
  std::vector<std::string> data;
  for (int i = 0; i < 20; ++i) data.push_back(RandomBytes(20000, i));
  for (int i = 0; i < 20; ++i) {
    store_->Put("t", "q" + std::to_string(i), AsBytes(data[i]), TenantLimits{},
                [&, i](auto r) { promises[i].set_value(std::move(r)); });
  }
  store_->Close();
  for (auto& p : promises) EXPECT_TRUE(p.get_future().get().ok());
  EXPECT_EQ(Put("late", "x").status().code(), absl::StatusCode::kUnavailable);
  Reopen();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(*Get("q" + std::to_string(i)), data[i]);
}

// The store on a real disk through both I/O engines (io_uring and pread/pwrite): the same
// behaviour either way. The tests above run on the in-memory faulty file system.
class SegmentStoreDiskTest : public ::testing::TestWithParam<io::IoEngine> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("mosaic-store-disk-" + std::to_string(getpid()) + "-" + io::IoEngineName(GetParam()));
    fs::remove_all(dir_);
    fs_ = io::NewLocalFileSystem(GetParam());
    options_.dir = dir_.string();
    options_.segment_size_bytes = 1 << 20;
    options_.reserved_free_bytes = 0;
    options_.index_headroom_bytes = 0;
    options_.scrub_bytes_per_second = 0;
    ASSERT_NO_FATAL_FAILURE(Reopen());
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  void Reopen() {
    store_.reset();
    auto s = SegmentStore::Open(options_, fs_.get());
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  std::future<absl::StatusOr<PutResult>> Put(const std::string& id, const std::string& data) {
    auto p = std::make_shared<std::promise<absl::StatusOr<PutResult>>>();
    store_->Put("t", id, AsBytes(data), TenantLimits{}, [p](auto r) { p->set_value(r); });
    return p->get_future();
  }
  absl::StatusOr<std::string> Get(const std::string& id, uint64_t offset = 0, uint64_t length = 0) {
    std::promise<absl::StatusOr<GetResult>> p;
    store_->Get("t", id, offset, length, [&](auto r) { p.set_value(std::move(r)); });
    auto r = p.get_future().get();
    if (!r.ok()) return r.status();
    std::string data(reinterpret_cast<const char*>(r->data().data()), r->data().size());
    mosaic::BufferPool::Global().Give(std::move(r->record));
    return data;
  }

  fs::path dir_;
  StoreOptions options_;
  std::unique_ptr<io::FileSystem> fs_;
  std::unique_ptr<SegmentStore> store_;
};

TEST_P(SegmentStoreDiskTest, ChunksRoundTripAcrossSegmentsAndReopen) {
  // 60 chunks of 1 B to 200 KiB, queued 6 at a time (group commits, several segments).
  std::map<std::string, std::string> chunks;
  std::mt19937 rng(7);
  for (int i = 0; i < 60; ++i) {
    std::string id = "c" + std::to_string(i);
    chunks[id] = RandomBytes(1 + rng() % (200 << 10), uint32_t(i));
  }
  std::vector<std::future<absl::StatusOr<PutResult>>> puts;
  for (const auto& [id, data] : chunks) {
    puts.push_back(Put(id, data));
    if (puts.size() < 6) continue;
    for (auto& f : puts) ASSERT_TRUE(f.get().ok());
    puts.clear();
  }
  EXPECT_GT(store_->SegmentCount(), 2u);
  for (const auto& [id, data] : chunks) EXPECT_EQ(*Get(id), data) << id;
  const std::string& some = chunks.begin()->second;
  EXPECT_EQ(*Get(chunks.begin()->first, some.size() / 2, 10), some.substr(some.size() / 2, 10));

  ASSERT_NO_FATAL_FAILURE(Reopen());
  for (const auto& [id, data] : chunks) EXPECT_EQ(*Get(id), data) << id << " after reopen";
  EXPECT_EQ(store_->Usage("t").chunks, chunks.size());
}

INSTANTIATE_TEST_SUITE_P(Engines, SegmentStoreDiskTest,
                         ::testing::Values(io::IoEngine::kUring, io::IoEngine::kPosix),
                         [](const auto& info) {
                           return std::string(info.param == io::IoEngine::kUring ? "IoUring"
                                                                                 : "Posix");
                         });

}  // namespace
}  // namespace mosaic::node
