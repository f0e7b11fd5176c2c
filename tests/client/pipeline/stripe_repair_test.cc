// client::RepairStripe against real `mosaic node` processes: 7 nodes under 7 providers, 4+2
// with 1 MiB stripes, so that every stripe leaves one provider free for a rebuilt shard.

#include "client/pipeline/stripe_repair.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>

#include "client/pipeline/pipeline.h"
#include "tests/support/node_process.h"
#include "tests/support/pipeline_io.h"

namespace mosaic::client {
namespace {

constexpr int kNodes = 7;
constexpr uint64_t kSeed = 77;
constexpr uint64_t kSize = (5 << 20) / 2;  // 3 stripes, the last one short

class StripeRepairTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto nodes = test::StartPipelineNodes(kNodes);
    ASSERT_TRUE(nodes.ok()) << nodes.status();
    nodes_ = std::move(*nodes);
  }
  static void TearDownTestSuite() { nodes_.clear(); }

  void SetUp() override {
    for (auto& n : nodes_) {
      if (!n->Running()) {
        ASSERT_TRUE(n->Restart().ok());
      }
    }
    ring_ = test::NewKeyRing();
    ASSERT_NE(ring_, nullptr);
    std::vector<NodeEndpoint> endpoints;
    for (int i = 0; i < kNodes; ++i) {
      endpoints.push_back(
          test::PipelineEndpoint(nodes_[i]->options().node_id, i, nodes_[i]->grpc_address()));
    }
    RpcOptions rpc;
    rpc.call_timeout = std::chrono::seconds(20);
    pool_ = std::make_unique<NodePool>(endpoints, rpc);
    PipelineOptions options = test::SmallStripeOptions();
    options.stripe_timeout = std::chrono::seconds(10);
    pipeline_ = std::make_unique<Pipeline>(*ring_, *pool_, options);
    auto manifest = test::WritePattern(*pipeline_, kSeed, kSize);
    ASSERT_TRUE(manifest.ok()) << manifest.status();
    manifest_ = *manifest;
    ASSERT_EQ(manifest_.stripes.size(), 3u);
  }
  void TearDown() override {
    pipeline_.reset();
    pool_.reset();
  }

  test::NodeProcess& Node(const std::string& id) {
    return *nodes_[std::stoi(id.substr(id.find('-') + 1))];
  }
  std::string ChunkOf(uint64_t stripe, int shard) const {
    return ChunkIdString(ring_->ComputeChunkId(manifest_.object_id, stripe, shard));
  }
  // Stops the nodes holding `shards` of `stripe` (so a read must use the others).
  void StopHolders(uint64_t stripe, std::vector<int> shards) {
    for (int s : shards) Node(manifest_.stripes[stripe].nodes[s]).Kill();
  }

  static std::vector<std::unique_ptr<test::NodeProcess>> nodes_;
  std::unique_ptr<KeyRing> ring_;
  std::unique_ptr<NodePool> pool_;
  std::unique_ptr<Pipeline> pipeline_;
  ObjectManifest manifest_;
};

std::vector<std::unique_ptr<test::NodeProcess>> StripeRepairTest::nodes_;

TEST_F(StripeRepairTest, DeletedShardIsRebuiltOnTheFreeProvider) {
  const uint64_t stripe = 1;
  const std::string old = manifest_.stripes[stripe].nodes[0];
  ASSERT_TRUE(Node(old).Client("group-token").Delete(ChunkOf(stripe, 0)).ok());

  StripeRepairResult r = RepairStripe(*pipeline_, manifest_, stripe, {0}, nullptr, nullptr);
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_EQ(r.shards.size(), 1u);
  ASSERT_TRUE(r.shards[0].status.ok()) << r.shards[0].status;
  const std::string fresh = r.shards[0].node_id;
  const auto& nodes = manifest_.stripes[stripe].nodes;
  // The one node (provider) holding no shard of the stripe.
  EXPECT_EQ(std::count(nodes.begin(), nodes.end(), fresh), 0) << fresh;
  EXPECT_GT(r.bytes_written, 0u);
  ASSERT_FALSE(r.faults.empty());
  EXPECT_EQ(r.faults[0].shard_index, 0);
  EXPECT_EQ(r.faults[0].status.code(), absl::StatusCode::kNotFound);

  // With both parity shards gone, the stripe reads only with the rebuilt data shard.
  manifest_.stripes[stripe].nodes[0] = fresh;
  StopHolders(stripe, {4, 5});
  EXPECT_TRUE(test::VerifyPattern(*pipeline_, manifest_, kSeed, 0, kSize).ok());
}

TEST_F(StripeRepairTest, ShardOfADrainingNodeMovesAndReadsBack) {
  const uint64_t stripe = 2;  // the short last stripe
  const std::string draining = manifest_.stripes[stripe].nodes[2];
  auto no_new = [&](const std::string& id) { return id == draining; };
  StripeRepairResult r = RepairStripe(*pipeline_, manifest_, stripe, {2}, nullptr, no_new);
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_TRUE(r.shards[0].status.ok()) << r.shards[0].status;
  EXPECT_NE(r.shards[0].node_id, draining);
  EXPECT_TRUE(r.faults.empty());

  // The moved copy is the one read: the draining node and both parity nodes stop.
  manifest_.stripes[stripe].nodes[2] = r.shards[0].node_id;
  Node(draining).Kill();
  StopHolders(stripe, {4, 5});
  auto reader = pipeline_->NewReader(manifest_, 2 << 20, kSize - (2 << 20));
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_TRUE(test::VerifyPattern(**reader, kSeed, 2 << 20, kSize - (2 << 20)).ok());
}

TEST_F(StripeRepairTest, TwoShardsGoToDistinctNodes) {
  const uint64_t stripe = 0;
  StripeRepairResult r = RepairStripe(*pipeline_, manifest_, stripe, {1, 3}, nullptr, nullptr);
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_EQ(r.shards.size(), 2u);
  ASSERT_TRUE(r.shards[0].status.ok() && r.shards[1].status.ok());
  EXPECT_NE(r.shards[0].node_id, r.shards[1].node_id);
}

TEST_F(StripeRepairTest, FewerThanKSourcesIsUnavailable) {
  const uint64_t stripe = 0;
  std::set<std::string> gone(manifest_.stripes[stripe].nodes.begin(),
                             manifest_.stripes[stripe].nodes.begin() + 3);
  auto avoid = [&](const std::string& id) { return gone.contains(id); };
  StripeRepairResult r = RepairStripe(*pipeline_, manifest_, stripe, {0, 1, 2}, avoid, nullptr);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable) << r.status;
  EXPECT_TRUE(r.shards.empty());
}

// Issue 14: a repair reads k sources, not every readable one (the rebuild opens k): the
// nodes send k shards' bytes in all. When one of those is missing, the others are read too.
TEST_F(StripeRepairTest, ReadsKSourcesAndTheOthersOnlyWhenNeeded) {
  auto sent = [&] {  // chunk bytes sent by all nodes so far
    uint64_t total = 0;
    for (auto& node : nodes_) {
      auto text = test::HttpGet(node->metrics_address(), "/metrics");
      EXPECT_TRUE(text.ok()) << text.status();
      const std::string name = "\nmosaic_node_sent_bytes_total ";
      size_t at = text.ok() ? text->find(name) : std::string::npos;
      if (at != std::string::npos) total += std::stoull(text->substr(at + name.size()));
    }
    return total;
  };
  // Counted when a reply is sent, which may be after the client has it: bounded polling.
  auto sent_after = [&](uint64_t before, uint64_t expected) {
    uint64_t delta = 0;
    for (int i = 0; i < 100 && (delta = sent() - before) < expected; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return delta;
  };
  uint64_t before = sent();
  StripeRepairResult r = RepairStripe(*pipeline_, manifest_, 0, {5}, nullptr, nullptr);
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_TRUE(r.shards[0].status.ok()) << r.shards[0].status;
  ASSERT_GT(r.bytes_written, 0u);
  EXPECT_EQ(sent_after(before, 4 * r.bytes_written), 4 * r.bytes_written);
  EXPECT_TRUE(r.faults.empty());

  // Shard 1 is gone from its node: shards 0, 2 and 3 verify, then 4 and 5 are read.
  ASSERT_TRUE(Node(manifest_.stripes[1].nodes[1]).Client("group-token").Delete(ChunkOf(1, 1)).ok());
  before = sent();
  r = RepairStripe(*pipeline_, manifest_, 1, {1}, nullptr, nullptr);
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_TRUE(r.shards[0].status.ok()) << r.shards[0].status;
  EXPECT_EQ(sent_after(before, 5 * r.bytes_written), 5 * r.bytes_written);
  ASSERT_EQ(r.faults.size(), 1u);
  EXPECT_EQ(r.faults[0].shard_index, 1);
  EXPECT_EQ(r.faults[0].status.code(), absl::StatusCode::kNotFound);
  // The rebuilt shard reads back: with it, the stripe reads without both parity shards.
  manifest_.stripes[1].nodes[1] = r.shards[0].node_id;
  StopHolders(1, {4, 5});
  EXPECT_TRUE(test::VerifyPattern(*pipeline_, manifest_, kSeed, 0, kSize).ok());
}

TEST_F(StripeRepairTest, BadShardIndexIsInvalid) {
  StripeRepairResult r = RepairStripe(*pipeline_, manifest_, 0, {6}, nullptr, nullptr);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument);
  r = RepairStripe(*pipeline_, manifest_, 3, {0}, nullptr, nullptr);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mosaic::client
