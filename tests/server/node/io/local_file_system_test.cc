// The local file system with both engines (io_uring and pread/pwrite), and the io_uring
// engine under injected submission failures.

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <future>

#include "common/aligned_buffer.h"
#include "server/node/io/file.h"

namespace mosaic::node::io {
namespace {

namespace fs = std::filesystem;
constexpr size_t kBlock = 4096;

// A block of `kBlock` bytes, each `fill` (ASCII, so failures print readably).
AlignedBuffer Block(char fill) {
  AlignedBuffer b(kBlock);
  std::memset(b.data(), fill, kBlock);
  return b;
}

bool AllBytes(ConstByteSpan s, char fill) {
  for (std::byte b : s) {
    if (b != std::byte(fill)) return false;
  }
  return true;
}

class LocalFileSystemTest : public ::testing::TestWithParam<IoEngine> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("mosaic-io-test-" + std::to_string(getpid()) + "-" + IoEngineName(GetParam()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto resolved = ResolveIoEngine(GetParam());
    // Both engines must work on the machines that run the tests: no skipping.
    ASSERT_TRUE(resolved.ok()) << resolved.status();
    ASSERT_EQ(resolved->engine, GetParam());
    fs_ = NewLocalFileSystem(resolved->engine);
  }
  void TearDown() override {
    fs_.reset();
    fs::remove_all(dir_);
  }
  std::unique_ptr<File> Open(const std::string& name) {
    auto f = fs_->Open((dir_ / name).string(), true);
    EXPECT_TRUE(f.ok()) << f.status();
    return f.ok() ? std::move(*f) : nullptr;
  }

  fs::path dir_;
  std::unique_ptr<FileSystem> fs_;
};

TEST_P(LocalFileSystemTest, WritesReadBackInBatchesAndAlone) {
  std::unique_ptr<File> a = Open("a"), b = Open("b");
  ASSERT_TRUE(a && b);
  std::vector<AlignedBuffer> blocks;
  std::vector<WriteOp> ops;
  for (int i = 0; i < 8; ++i) blocks.push_back(Block(char('a' + i)));
  for (int i = 0; i < 8; ++i) ops.push_back({uint64_t(i) * kBlock, blocks[i].span()});
  ASSERT_TRUE(a->Write(ops, /*sync=*/true).ok());
  ASSERT_TRUE(b->Write(std::span(ops).first(2), /*sync=*/false).ok());
  EXPECT_EQ(*a->Size(), 8 * kBlock);

  std::vector<AlignedBuffer> out;
  std::vector<ReadOp> reads;
  for (int i = 0; i < 8; ++i) out.push_back(AlignedBuffer(kBlock));
  for (int i = 0; i < 8; ++i) {
    reads.push_back({i % 2 == 0 ? a.get() : b.get(), uint64_t(i % 2) * kBlock, out[i].span()});
  }
  fs_->ReadBatch(reads);
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(reads[i].result.ok()) << reads[i].result.status();
    EXPECT_EQ(*reads[i].result, kBlock);
    EXPECT_TRUE(AllBytes(out[i].span(), char('a' + i % 2))) << "read " << i;
  }
  AlignedBuffer all(8 * kBlock);  // the batch, one vectored write, in order
  ASSERT_EQ(*a->Read(0, all.span()), 8 * kBlock);
  for (int i = 0; i < 8; ++i) {
    EXPECT_TRUE(AllBytes(ConstByteSpan(all.data() + i * kBlock, kBlock), char('a' + i))) << i;
  }
  // A read past the end is short; a truncated file reads short where it was cut.
  AlignedBuffer two(2 * kBlock);
  EXPECT_EQ(*a->Read(7 * kBlock, two.span()), kBlock);
  ASSERT_TRUE(a->Truncate(3 * kBlock).ok());
  EXPECT_EQ(*a->Size(), 3 * kBlock);
  EXPECT_EQ(*a->Read(2 * kBlock, two.span()), kBlock);
  EXPECT_TRUE(AllBytes(two.span().first(kBlock), 'c'));
}

INSTANTIATE_TEST_SUITE_P(Engines, LocalFileSystemTest,
                         ::testing::Values(IoEngine::kUring, IoEngine::kPosix),
                         [](const auto& info) {
                           return std::string(info.param == IoEngine::kUring ? "IoUring" : "Posix");
                         });

TEST(IoEngineTest, NamesParseAndPosixNeedsNoRing) {
  for (IoEngine e : {IoEngine::kAuto, IoEngine::kUring, IoEngine::kPosix}) {
    EXPECT_EQ(ParseIoEngine(IoEngineName(e)), e);
  }
  EXPECT_EQ(ParseIoEngine("aio"), std::nullopt);
  auto posix = ResolveIoEngine(IoEngine::kPosix);
  ASSERT_TRUE(posix.ok());
  EXPECT_EQ(posix->engine, IoEngine::kPosix);
  auto automatic = ResolveIoEngine(IoEngine::kAuto);
  ASSERT_TRUE(automatic.ok());
  EXPECT_EQ(automatic->engine, IoEngine::kUring) << "io_uring is expected where tests run";
}

// An empty directory of this name (and the process id) under the temporary directory.
fs::path FreshDir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / (name + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Eight blocks, filled with `first`, `first` + 1, ..., and the writes of them one after another.
struct EightBlocks {
  explicit EightBlocks(char first) {
    for (int i = 0; i < 8; ++i) blocks.push_back(Block(char(first + i)));
    for (int i = 0; i < 8; ++i) ops.push_back({uint64_t(i) * kBlock, blocks[i].span()});
  }
  std::vector<AlignedBuffer> blocks;
  std::vector<WriteOp> ops;
};

// Issue 19: after a submission failed with anything but EINTR, the io_uring engine returned
// with entries still queued or in flight. The next call on the thread then submitted them
// (writing from buffers the caller had reused) and took their completions for its own
// transfers (a read reported done before its bytes arrived). Now a failed call waits for
// every entry it queued before it returns.
TEST(UringFaultTest, FailedSubmissionLeavesNothingBehindForTheNextCall) {
  fs::path dir = FreshDir("mosaic-uring-fault-");
  UringFaults faults;
  std::unique_ptr<FileSystem> fs = NewLocalFileSystem(IoEngine::kUring, &faults);
  // The ring is per thread: everything runs on one thread, bounded in time.
  auto run = std::async(std::launch::async, [&] {
    auto a = fs->Open((dir / "a").string(), true);
    auto b = fs->Open((dir / "b").string(), true);
    ASSERT_TRUE(a.ok() && b.ok());
    std::vector<AlignedBuffer> blocks;
    std::vector<WriteOp> ops;
    for (int i = 0; i < 8; ++i) blocks.push_back(Block(char('k' + i)));
    for (int i = 0; i < 8; ++i) ops.push_back({uint64_t(i) * kBlock, blocks[i].span()});
    ASSERT_TRUE((*b)->Write(ops, true).ok());

    for (int i = 0; i < 8; ++i) blocks[i] = Block('A');
    faults.submits_before_failure = 0;
    absl::Status failed = (*a)->Write(ops, true);
    EXPECT_FALSE(failed.ok()) << "the injected EAGAIN";
    for (AlignedBuffer& block : blocks) std::memset(block.data(), 'Z', kBlock);  // reused

    std::vector<AlignedBuffer> out;
    std::vector<ReadOp> reads;
    for (int i = 0; i < 8; ++i) out.push_back(Block('?'));
    for (int i = 0; i < 8; ++i) reads.push_back({b->get(), uint64_t(i) * kBlock, out[i].span()});
    fs->ReadBatch(reads);
    for (int i = 0; i < 8; ++i) {
      ASSERT_TRUE(reads[i].result.ok()) << reads[i].result.status();
      EXPECT_EQ(*reads[i].result, kBlock);
      EXPECT_TRUE(AllBytes(out[i].span(), char('k' + i))) << "read " << i << " got other bytes";
    }
    // What reached `a` from the failed write is its own bytes, never the reused buffers'.
    AlignedBuffer back(8 * kBlock);
    auto n = (*a)->Read(0, back.span());
    ASSERT_TRUE(n.ok()) << n.status();
    for (size_t off = 0; off < *n; off += kBlock) {
      EXPECT_FALSE(AllBytes(ConstByteSpan(back.data() + off, kBlock), 'Z')) << "block " << off;
    }
  });
  if (run.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
    ADD_FAILURE() << "the calls after the failed submission never finished";
    std::fflush(nullptr);
    _exit(1);  // the ring thread is stuck waiting for completions that were already taken
  }
  run.get();
  fs::remove_all(dir);
}

// Issue 14: a synced batch of writes went to the ring in one submission and its fdatasync in
// another, and the thread woke once per completion. Now the fdatasync is queued with the
// writes (drained behind them) and one submission waits for all: one wake-up per batch.
// Counted with the fault hook: one submission, whatever the batch. And each record of a
// batch was its own ring entry, which io_uring handed to a worker of its own (ext4 appends
// cannot be issued without blocking), all queueing on the file's lock: writes that follow
// one another in the file are now one vectored write.
TEST(UringFaultTest, ASyncedWriteBatchAndAReadBatchAreOneSubmissionEach) {
  fs::path dir = FreshDir("mosaic-uring-once-");
  UringFaults faults;
  std::unique_ptr<FileSystem> fs = NewLocalFileSystem(IoEngine::kUring, &faults);
  auto run = std::async(std::launch::async, [&] {
    auto a = fs->Open((dir / "a").string(), true);
    ASSERT_TRUE(a.ok());
    EightBlocks eight('a');
    faults.submits_before_failure = 1;
    absl::Status written = (*a)->Write(eight.ops, true);
    EXPECT_TRUE(written.ok()) << written << ": the batch took more than one submission";
    EXPECT_EQ(faults.submits_before_failure.load(), 0);
    EXPECT_EQ(faults.entries.load(), 2) << "eight adjacent blocks and the fdatasync";
    std::vector<WriteOp> gaps;  // every other block further on: eight separate writes
    for (int i = 0; i < 8; ++i) gaps.push_back({uint64_t(16 + 2 * i) * kBlock, eight.ops[i].data});
    faults.entries = 0;
    faults.submits_before_failure = -1;
    ASSERT_TRUE((*a)->Write(gaps, false).ok());
    EXPECT_EQ(faults.entries.load(), 8);
    AlignedBuffer back(kBlock);
    for (int i = 0; i < 8; ++i) {
      ASSERT_EQ(*(*a)->Read(uint64_t(16 + 2 * i) * kBlock, back.span()), kBlock);
      EXPECT_TRUE(AllBytes(back.span(), char('a' + i))) << "block " << 16 + 2 * i;
    }

    std::vector<AlignedBuffer> out;
    std::vector<ReadOp> reads;
    for (int i = 0; i < 8; ++i) out.push_back(Block('?'));
    for (int i = 0; i < 8; ++i) reads.push_back({a->get(), uint64_t(i) * kBlock, out[i].span()});
    faults.submits_before_failure = 1;
    fs->ReadBatch(reads);
    EXPECT_EQ(faults.submits_before_failure.load(), 0);
    faults.submits_before_failure = -1;
    for (int i = 0; i < 8; ++i) {
      ASSERT_TRUE(reads[i].result.ok()) << reads[i].result.status();
      EXPECT_TRUE(AllBytes(out[i].span(), char('a' + i))) << "read " << i;
    }
  });
  ASSERT_EQ(run.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  run.get();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace mosaic::node::io
