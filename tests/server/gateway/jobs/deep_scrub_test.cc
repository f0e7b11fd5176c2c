// The gateway's deep scrub (Scrubber::DeepScrub) against a node that serves wrong bytes and
// says OK: 6 in-process node doubles under 6 providers, 4+2 with 1 MiB stripes, so every
// stripe has exactly one shard on the lying node.

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "server/gateway/jobs/scrubber.h"
#include "tests/server/gateway/jobs/hostile_cluster.h"

namespace mosaic::test {
// The behaviours' names in gtest's messages and the ctest names (found by argument-dependent
// lookup).
static void PrintTo(HostileBehaviour b, std::ostream* os) {
  *os << (b == HostileBehaviour::kFlipBytes ? "FlippedBytes" : "WrongChunk");
}
}  // namespace mosaic::test

namespace mosaic::gateway {
namespace {

using mosaic::test::HostileBehaviour;

constexpr uint64_t kSize = (uint64_t{3} << 20) + 1000;  // 4 stripes, the last one short
constexpr char kLiar[] = "node-2";

class DeepScrubTest : public ::testing::TestWithParam<HostileBehaviour> {
 protected:
  void SetUp() override {
    auto cluster = test::HostileCluster::Start(6);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(*cluster);
    auto manifest = cluster_->PutObject("k", 9, kSize);
    ASSERT_TRUE(manifest.ok()) << manifest.status();
    ASSERT_EQ(manifest->stripes.size(), 4u);
    manifest_ = *manifest;
  }

  // One whole deep scrub on this thread; its progress.
  DeepScrubProgress Scrub() {
    metrics::Registry registry;
    Scrubber::Options options;
    options.deep_bytes_per_second = uint64_t{1} << 30;
    Scrubber scrubber(cluster_->meta(), cluster_->pipeline(), registry, options);
    absl::Status s = scrubber.DeepScrub();
    EXPECT_TRUE(s.ok()) << s;
    auto findings = scrubber.RecentFindings();
    EXPECT_TRUE(findings.ok()) << findings.status();
    if (findings.ok()) findings_ = *findings;
    return scrubber.progress();
  }

  std::unique_ptr<test::HostileCluster> cluster_;
  client::ObjectManifest manifest_;
  std::vector<ScrubFinding> findings_;  // of the last Scrub()
};

TEST_P(DeepScrubTest, AShardServedWrongWithAnOkIsQueuedForRepair) {
  // Honest nodes first: every shard opens and nothing is queued.
  DeepScrubProgress honest = Scrub();
  EXPECT_EQ(honest.shards_checked, 4u * 6);
  EXPECT_EQ(honest.failures, 0u);
  EXPECT_TRUE(findings_.empty());
  EXPECT_EQ(cluster_->meta().RepairBacklog(), 0u);

  cluster_->node(kLiar).set_behaviour(GetParam());
  DeepScrubProgress p = Scrub();
  EXPECT_EQ(p.error, "");
  EXPECT_EQ(p.pieces_done, 1u);
  EXPECT_EQ(p.shards_checked, 4u * 6);
  EXPECT_EQ(p.failures, 4u) << "one shard of each stripe is on the lying node";
  EXPECT_EQ(p.skipped, 0u);

  auto pending = cluster_->meta().PendingRepairs(100);
  ASSERT_TRUE(pending.ok()) << pending.status();
  ASSERT_EQ(pending->size(), 4u);
  std::set<uint64_t> stripes;
  for (const v1::RepairRecord& r : *pending) {
    ASSERT_LT(r.stripe(), 4u);
    stripes.insert(r.stripe());
    const auto& nodes = manifest_.stripes[r.stripe()].nodes;
    int liar = int(std::find(nodes.begin(), nodes.end(), kLiar) - nodes.begin());
    ASSERT_LT(liar, 6) << "stripe " << r.stripe();
    EXPECT_EQ(r.piece_id(), test::HostileCluster::PieceId(manifest_));
    EXPECT_EQ(std::vector<uint32_t>(r.shards().begin(), r.shards().end()),
              std::vector<uint32_t>{uint32_t(liar)})
        << "stripe " << r.stripe();
    EXPECT_EQ(r.reason(), "deep scrub");
    EXPECT_EQ(r.margin(), 1u) << "m = 2, one bad shard";
  }
  EXPECT_EQ(stripes.size(), 4u) << "one entry per stripe";

  // What the console lists as scrub findings: the same four shards, as found.
  ASSERT_EQ(findings_.size(), 4u);
  std::set<uint64_t> found_stripes;
  for (const ScrubFinding& f : findings_) {
    EXPECT_EQ(f.source, "deep scrub");
    EXPECT_EQ(f.shard.node_id, kLiar);
    EXPECT_EQ(f.shard.problem, "corrupt");
    EXPECT_EQ(f.shard.piece_id, test::HostileCluster::PieceId(manifest_));
    EXPECT_GT(f.time_ms, 0);
    found_stripes.insert(f.shard.stripe);
  }
  EXPECT_EQ(found_stripes, stripes);

  // The findings are in the metadata: a new Scrubber (a restarted gateway) lists them too,
  // and so does the JSON of /admin/v1/scrub and the console, newest first, still queued.
  metrics::Registry registry;
  Scrubber restarted(cluster_->meta(), cluster_->pipeline(), registry, {});
  auto again = restarted.RecentFindings();
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_EQ(again->size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ((*again)[i].shard.stripe, findings_[i].shard.stripe);
    EXPECT_EQ((*again)[i].shard.node_id, kLiar);
  }
  auto json = restarted.FindingsJson();
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_NE(json->find("\"source\":\"deep scrub\""), std::string::npos) << *json;
  EXPECT_NE(json->find("\"repair\":\"queued\""), std::string::npos) << *json;
}

// kFlipBytes: the shard's own bytes altered. kWrongChunk: a whole valid-looking shard of
// another stripe of the same length (only the AEAD tag, bound to the shard's place, tells).
INSTANTIATE_TEST_SUITE_P(Lies, DeepScrubTest,
                         ::testing::Values(HostileBehaviour::kFlipBytes,
                                           HostileBehaviour::kWrongChunk),
                         [](const auto& info) { return ::testing::PrintToString(info.param); });

}  // namespace
}  // namespace mosaic::gateway
