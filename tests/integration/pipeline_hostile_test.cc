// The object pipeline's reader against a provider that lies or stalls: 5 real `mosaic node`
// processes and one test double (tests/support/hostile_node.h), under 6 provider names, 4+2.

#include <gtest/gtest.h>

#include <set>

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

}  // namespace
}  // namespace mosaic::client
