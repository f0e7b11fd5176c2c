// The repair job's rate limit (RepairerOptions::bytes_per_second, a token bucket with one
// second of burst), against in-process node doubles: 7 providers, 4+2 with 1 MiB stripes,
// so that every stripe has a free provider for its rebuilt shard.

#include "server/gateway/jobs/repairer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "server/gateway/meta/write_journal.h"
#include "tests/server/gateway/jobs/hostile_cluster.h"

namespace mosaic::gateway {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kStripes = 12;
// Stripes the job repairs at once (RepairerOptions::stripes_in_flight): the token bucket is
// checked before each stripe starts and charged after it ends, so the bytes of the stripes
// still running at the last wait are never waited for.
constexpr int kStripesPerGroup = 4;

class RepairerRateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = test::HostileCluster::Start(7);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(*cluster);
    auto manifest = cluster_->PutObject("k", 5, uint64_t{kStripes} << 20);
    ASSERT_TRUE(manifest.ok()) << manifest.status();
    ASSERT_EQ(manifest->stripes.size(), size_t{kStripes});
    manifest_ = *manifest;
  }

  // Queues shard `shard` of every stripe.
  void QueueShardOfEveryStripe(int shard) {
    for (int s = 0; s < kStripes; ++s) {
      v1::RepairRecord r;
      r.set_piece_id(test::HostileCluster::PieceId(manifest_));
      r.set_stripe(uint64_t(s));
      r.add_shards(uint32_t(shard));
      r.set_reason("test");
      r.set_margin(1);
      ASSERT_TRUE(cluster_->meta().QueueRepair(r).ok());
    }
    ASSERT_EQ(cluster_->meta().RepairBacklog(), uint64_t{kStripes});
  }

  struct Run {
    double seconds = 0;
    uint64_t bytes = 0;
  };
  // One pass of a new job at `bytes_per_second` over the whole queue.
  Run RepairAll(uint64_t bytes_per_second, int stripes_in_flight = kStripesPerGroup) {
    metrics::Registry registry;
    RepairerOptions options;
    options.bytes_per_second = bytes_per_second;
    options.stripes_in_flight = stripes_in_flight;
    Repairer repairer(cluster_->meta(), cluster_->pipeline(), registry, options);
    auto start = Clock::now();
    size_t done = repairer.RunOnce();
    Run run{std::chrono::duration<double>(Clock::now() - start).count(),
            repairer.progress().bytes_done};
    EXPECT_EQ(done, size_t{kStripes});
    EXPECT_EQ(repairer.progress().shards_done, uint64_t{kStripes});
    EXPECT_EQ(repairer.progress().failures, 0u);
    EXPECT_EQ(cluster_->meta().RepairBacklog(), 0u);
    return run;
  }

  std::unique_ptr<test::HostileCluster> cluster_;
  client::ObjectManifest manifest_;
};

TEST_F(RepairerRateTest, RepairBytesAreSpreadAtTheConfiguredRate) {
  // About 3 MiB of sealed shards (12 × 256 KiB) at 768 KiB/s: ~1.7 s of waiting.
  constexpr uint64_t kRate = uint64_t{768} << 10;
  QueueShardOfEveryStripe(0);
  Run slow = RepairAll(kRate);
  ASSERT_GT(slow.bytes, uint64_t{kStripes} << 18);
  // The bucket starts full (one second of burst), and at the last wait (for the last
  // stripe, before it waits for a place in the window) that stripe and the ones in the
  // window may be uncharged (a stripe is charged once written): the rest must have been
  // waited for.
  double last_group = double(slow.bytes) * (kStripesPerGroup + 1) / kStripes;
  double must_wait = (double(slow.bytes) - double(kRate) - last_group) / double(kRate);
  ASSERT_GT(must_wait, 1.0) << "the test's sizes leave too little to wait for";
  EXPECT_GE(slow.seconds, must_wait - 0.05)
      << slow.bytes << " bytes at " << kRate << " B/s took " << slow.seconds << " s";

  // The same work without a binding limit ends before the limited run was even allowed to:
  // the waiting was the limit's. (The limited run's time is about the larger of its waiting
  // and its work, which overlap; the work is mostly the store's synced writes.)
  QueueShardOfEveryStripe(1);
  Run fast = RepairAll(uint64_t{1} << 40);
  EXPECT_EQ(fast.bytes, slow.bytes);
  EXPECT_LT(fast.seconds, must_wait)
      << "unthrottled " << fast.seconds << " s vs throttled " << slow.seconds << " s";

  // Every shard moved to a node that holds no other shard of its stripe.
  auto piece = cluster_->meta().GetPiece(test::HostileCluster::PieceId(manifest_));
  ASSERT_TRUE(piece.ok() && piece->has_value());
  for (int s = 0; s < kStripes; ++s) {
    const auto& nodes = (*piece)->manifest().stripes(s).nodes();
    std::set<std::string> distinct(nodes.begin(), nodes.end());
    EXPECT_EQ(distinct.size(), 6u) << "stripe " << s;
    EXPECT_NE(nodes[0], manifest_.stripes[s].nodes[0]) << "stripe " << s;
    EXPECT_NE(nodes[1], manifest_.stripes[s].nodes[1]) << "stripe " << s;
  }
}

// Several gateways on one database (issue 17): while a stripe is rebuilt its object is
// recorded as a write in flight in the pipeline's write journal (as a PUT's is), so another
// gateway's orphan sweep spares the new chunks too; the record goes at the journal's
// heartbeat after the repair.
TEST_F(RepairerRateTest, RepairWritesAreRecordedInFlightUntilSettled) {
  WriteJournal journal(cluster_->meta(), "gw-repair", std::chrono::seconds(6));
  cluster_->pipeline().SetWriteJournal(&journal);
  QueueShardOfEveryStripe(0);
  const std::string object(reinterpret_cast<const char*>(manifest_.object_id.data()),
                           manifest_.object_id.size());
  auto recorded = [&] {
    auto writes = cluster_->meta().WritesInFlight();
    return writes.ok() && std::any_of(writes->begin(), writes->end(), [&](const auto& w) {
             return w.writer == journal.writer() && w.object_id == object &&
                    w.stripes == uint64_t{kStripes} && w.shards == 6u;
           });
  };
  std::atomic<int> asked{0}, unrecorded{0};
  RepairerOptions options;
  options.bytes_per_second = uint64_t{1} << 40;
  // Asked about each node while a stripe is rebuilt, before its new shards are written.
  options.avoid = [&](const std::string&) {
    ++asked;
    if (!recorded()) ++unrecorded;
    return false;
  };
  metrics::Registry registry;
  Repairer repairer(cluster_->meta(), cluster_->pipeline(), registry, options);
  EXPECT_EQ(repairer.RunOnce(), size_t{kStripes});
  EXPECT_EQ(repairer.progress().shards_done, uint64_t{kStripes});
  EXPECT_GT(asked.load(), 0);
  EXPECT_EQ(unrecorded.load(), 0) << "of " << asked.load();
  EXPECT_TRUE(recorded()) << "released records go at the next heartbeat";
  ASSERT_TRUE(journal.Step().ok());
  EXPECT_FALSE(recorded());
  cluster_->pipeline().SetWriteJournal(nullptr);
}

// Issue 14: the job keeps stripes_in_flight stripes at once (it was a fixed 4, in groups
// waiting for their slowest). Every node answers its reads after a delay, so each stripe's
// k = 4 source reads are held while it runs: the most reads held at once, over all nodes,
// is 4 × the stripes in flight.
TEST_F(RepairerRateTest, RepairsTheConfiguredNumberOfStripesAtOnce) {
  for (int i = 0; i < 7; ++i) {
    cluster_->node("node-" + std::to_string(i))
        .set_behaviour(mosaic::test::HostileBehaviour::kSlow, std::chrono::milliseconds(400));
  }
  QueueShardOfEveryStripe(0);
  mosaic::test::HostileNode::ResetSlowGetsOfAll();
  RepairAll(uint64_t{1} << 40, 6);
  EXPECT_EQ(mosaic::test::HostileNode::MaxConcurrentSlowGetsOfAll(), 6 * 4);
}

// Issue 14: written stripes are committed in groups, not two synced writes each. The first
// stripe written is committed alone, and its commit is held here until every other stripe
// is written and waiting (its rebuilt shard on a node: the nodes' chunk count): the helpers
// did not wait for that commit, and the committing one then commits all 11 in one write.
TEST_F(RepairerRateTest, WrittenStripesAreCommittedTogether) {
  QueueShardOfEveryStripe(0);
  auto chunks = [&] {
    size_t n = 0;
    for (int i = 0; i < 7; ++i) n += cluster_->node("node-" + std::to_string(i)).chunk_count();
    return n;
  };
  const size_t stored = chunks();
  ASSERT_EQ(stored, size_t{kStripes} * 6);
  std::vector<size_t> batches;
  bool all_written = false;
  RepairerOptions options;
  options.bytes_per_second = uint64_t{1} << 40;
  options.stripes_in_flight = 4;
  metrics::Registry registry;
  Repairer* job = nullptr;
  options.before_commit = [&](size_t stripes) {
    batches.push_back(stripes);
    if (batches.size() > 1) return;
    for (int i = 0; i < 6000 && job->progress().waiting_commit < uint64_t{kStripes - 1}; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    all_written = job->progress().waiting_commit == uint64_t{kStripes - 1} &&
                  chunks() == stored + kStripes && job->progress().shards_done == 0;
  };
  Repairer repairer(cluster_->meta(), cluster_->pipeline(), registry, options);
  job = &repairer;
  EXPECT_EQ(repairer.RunOnce(), size_t{kStripes});
  EXPECT_TRUE(all_written);
  EXPECT_EQ(repairer.progress().waiting_commit, 0u);
  EXPECT_EQ(batches, (std::vector<size_t>{1, kStripes - 1}));
  EXPECT_EQ(repairer.progress().commits, 2u);
  EXPECT_EQ(repairer.progress().shards_done, uint64_t{kStripes});
  EXPECT_EQ(cluster_->meta().RepairBacklog(), 0u);
  auto piece = cluster_->meta().GetPiece(test::HostileCluster::PieceId(manifest_));
  ASSERT_TRUE(piece.ok() && piece->has_value());
  for (int s = 0; s < kStripes; ++s) {
    EXPECT_NE((*piece)->manifest().stripes(s).nodes(0), manifest_.stripes[s].nodes[0]) << s;
  }
}

}  // namespace
}  // namespace mosaic::gateway
