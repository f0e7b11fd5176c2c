// The object pipeline's reader against a provider that lies or stalls: 5 real `mosaic node`
// processes and one test double (tests/support/hostile_node.h), under 6 provider names, 4+2.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <set>
#include <thread>

#include "client/pipeline/object_reader.h"
#include "client/pipeline/object_writer.h"
#include "client/pipeline/pipeline.h"
#include "tests/support/hostile_node.h"
#include "tests/support/node_process.h"
#include "tests/support/pipeline_io.h"

namespace mosaic::client {
namespace {

using test::HostileBehaviour;
using test::NodeProcess;
using Clock = std::chrono::steady_clock;

class PipelineHostileTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto nodes = test::StartPipelineNodes(5);
    ASSERT_TRUE(nodes.ok()) << nodes.status();
    nodes_ = std::move(*nodes);
  }
  static void TearDownTestSuite() { nodes_.clear(); }

  void SetUp() override {
    auto hostile = test::HostileNode::Start();
    ASSERT_TRUE(hostile.ok()) << hostile.status();
    hostile_ = std::move(*hostile);
    std::vector<NodeEndpoint> endpoints;
    for (int i = 0; i < 5; ++i) {
      endpoints.push_back(
          test::PipelineEndpoint(nodes_[i]->options().node_id, i, nodes_[i]->grpc_address()));
    }
    endpoints.push_back(test::PipelineEndpoint("hostile", 5, hostile_->address()));
    pool_ = std::make_unique<NodePool>(endpoints, RpcOptions{});
    ring_ = test::NewKeyRing();
    ASSERT_NE(ring_, nullptr);
    pipeline_ = std::make_unique<Pipeline>(*ring_, *pool_, test::SmallStripeOptions());
  }
  // The pool goes first, while the slow double may still hold hedged calls: destroying a
  // pool with calls in flight must be safe.
  void TearDown() override {
    pipeline_.reset();
    pool_.reset();
    hostile_.reset();
  }

  // Writes an object of 24 stripes; checks that the double holds one shard of each, and a
  // data shard (asked on every read) of some.
  ObjectManifest WriteObject(uint64_t seed) {
    auto manifest = test::WritePattern(*pipeline_, seed, kSize, 300'000);
    EXPECT_TRUE(manifest.ok()) << manifest.status();
    if (!manifest.ok()) return {};
    EXPECT_EQ(hostile_->chunk_count(), manifest->stripes.size());
    for (const auto& s : manifest->stripes) {
      for (int i = 0; i < 4; ++i) data_shards_on_hostile_ += s.nodes[i] == "hostile";
    }
    EXPECT_GT(data_shards_on_hostile_, 0);
    return *manifest;
  }

  // Reads the whole object and returns the faults the reader reported.
  std::vector<BadShard> ReadAndVerify(const ObjectManifest& m, uint64_t seed) {
    auto reader = pipeline_->NewReader(m, 0, m.size);
    EXPECT_TRUE(reader.ok());
    if (!reader.ok()) return {};
    absl::Status s = test::VerifyPattern(**reader, seed, 0, m.size);
    EXPECT_TRUE(s.ok()) << s;
    return (*reader)->faults();
  }

  static constexpr uint64_t kSize = (24 << 20) - 1000;
  static std::vector<std::unique_ptr<NodeProcess>> nodes_;
  std::unique_ptr<test::HostileNode> hostile_;
  std::unique_ptr<NodePool> pool_;
  std::unique_ptr<KeyRing> ring_;
  std::unique_ptr<Pipeline> pipeline_;
  int data_shards_on_hostile_ = 0;
};

std::vector<std::unique_ptr<NodeProcess>> PipelineHostileTest::nodes_;

TEST_F(PipelineHostileTest, HonestDoubleIsReadLikeANode) {
  ObjectManifest m = WriteObject(1);
  EXPECT_TRUE(ReadAndVerify(m, 1).empty());
  EXPECT_GE(hostile_->gets(), data_shards_on_hostile_);
}

// Every shard the double served failed its tag and is blamed on it, once. Not an exact
// count, either way, under load: a data shard of the double may escape being asked when a
// hedged parity shard answered first, and a parity shard of the double is asked (and blamed)
// when a data shard elsewhere was slow and hedged. So the bound is the double's shards,
// one per stripe (a run on a busy machine blamed 18 with 16 data shards on the double).
void ExpectBlamed(const std::vector<BadShard>& faults, const ObjectManifest& m) {
  EXPECT_GE(faults.size(), 1u);
  EXPECT_LE(faults.size(), m.stripes.size());
  std::set<uint64_t> stripes;
  for (const BadShard& f : faults) {
    EXPECT_TRUE(stripes.insert(f.stripe).second) << "stripe " << f.stripe << " blamed twice";
    EXPECT_EQ(f.node_id, "hostile");
    EXPECT_EQ(m.stripes[f.stripe].nodes[f.shard_index], "hostile");
    EXPECT_EQ(f.status.code(), absl::StatusCode::kDataLoss) << f.status;
  }
}

TEST_F(PipelineHostileTest, FlippedBytesAreReadAroundAndBlamed) {
  ObjectManifest m = WriteObject(2);
  hostile_->set_behaviour(HostileBehaviour::kFlipBytes);
  ExpectBlamed(ReadAndVerify(m, 2), m);
}

TEST_F(PipelineHostileTest, ValidLookingWrongShardIsReadAroundAndBlamed) {
  ObjectManifest m = WriteObject(3);
  hostile_->set_behaviour(HostileBehaviour::kWrongChunk);
  ExpectBlamed(ReadAndVerify(m, 3), m);
  // Ranges too: every stripe a range touches is checked shard by shard.
  auto reader = pipeline_->NewReader(m, 3 << 20, 5 << 20);
  ASSERT_TRUE(reader.ok());
  EXPECT_TRUE(test::VerifyPattern(**reader, 3, 3 << 20, 5 << 20).ok());
  for (const BadShard& f : (*reader)->faults()) EXPECT_EQ(f.node_id, "hostile");
}

TEST_F(PipelineHostileTest, SlowNodeIsHedgedAround) {
  ObjectManifest m = WriteObject(4);
  const auto delay = std::chrono::seconds(5);
  hostile_->set_behaviour(HostileBehaviour::kSlow, delay);
  auto start = Clock::now();
  std::vector<BadShard> faults = ReadAndVerify(m, 4);
  auto took = Clock::now() - start;
  EXPECT_LT(took, delay) << "the read waited for the slow node";
  EXPECT_TRUE(faults.empty()) << "a slow shard is not a bad one";
  EXPECT_GE(hostile_->gets(), 1);
}

// A read waiting on a stalled node holds no thread: with one worker and hedging off, a read of
// another object (whose shards on the double are parity, never asked) completes while the
// first read still waits for the double's data shard. A reader that parked the worker until
// the reply (or stripe_timeout) served the second read only after the first.
TEST_F(PipelineHostileTest, ReadWaitingOnAStalledNodeParksNoWorker) {
  std::optional<ObjectManifest> stalled, free;
  uint64_t free_seed = 0;
  for (uint64_t seed = 100; seed < 160 && (!stalled || !free); ++seed) {
    auto m = test::WritePattern(*pipeline_, seed, 200'000);
    ASSERT_TRUE(m.ok()) << m.status();
    const auto& nodes = m->stripes[0].nodes;
    bool data_on_hostile =
        std::find(nodes.begin(), nodes.begin() + 4, "hostile") != nodes.begin() + 4;
    if (data_on_hostile) {
      stalled = *m;
    } else {
      free = *m;
      free_seed = seed;
    }
  }
  ASSERT_TRUE(stalled && free) << "placement never gave both kinds of object";
  PipelineOptions options = test::SmallStripeOptions();
  options.worker_threads = 1;
  options.hedge_margin = 1e6;  // no hedging: the stalled read waits for the double
  options.hedge_delay = std::chrono::hours(1);
  options.stripe_timeout = std::chrono::seconds(120);
  Pipeline one_worker(*ring_, *pool_, options);
  hostile_->set_behaviour(HostileBehaviour::kSlow, std::chrono::seconds(60));
  std::atomic<bool> stalled_done{false};
  std::thread stalled_reader([&] {
    auto reader = one_worker.NewReader(*stalled, 0, stalled->size);
    if (reader.ok()) (void)(*reader)->ReadAll();
    stalled_done = true;
  });
  for (int i = 0; i < 1000 && hostile_->gets() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GE(hostile_->gets(), 1) << "the stalled read never asked the double";
  auto reader = one_worker.NewReader(*free, 0, free->size);
  ASSERT_TRUE(reader.ok());
  absl::Status read = test::VerifyPattern(**reader, free_seed, 0, free->size);
  EXPECT_TRUE(read.ok()) << read;
  EXPECT_FALSE(stalled_done) << "the second read waited for the stalled one";
  hostile_.reset();  // ends the delayed call: the stalled read finishes (or fails) now
  stalled_reader.join();
}

}  // namespace
}  // namespace mosaic::client
