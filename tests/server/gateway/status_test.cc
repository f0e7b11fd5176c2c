// The safety scan (stripes by missing shards, lost stripes, provider losses survived), the
// status document's JSON and text, and the queueing of a drained node's stripes.

#include "server/gateway/status.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "client/crypto/metadata_seal.h"
#include "client/crypto/secret.h"
#include "server/gateway/drain_safety.h"
#include "server/gateway/meta/meta_store.h"
#include "server/gateway/node_states.h"

namespace mosaic::gateway {
namespace {

constexpr auto kNoDeadline = std::chrono::hours(1);

class StatusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "status_test.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto store = MetaStore::Open(dir_);
    ASSERT_TRUE(store.ok()) << store.status();
    meta_ = std::move(*store);
    ASSERT_TRUE(meta_->CreateBucket("b", v1::BucketRecord()).ok());
    auto ring = client::KeyRing::FromMasterKey(client::SecretBytes::Random(32));
    ASSERT_TRUE(ring.ok());
    ring_ = std::make_unique<client::KeyRing>(std::move(*ring));
    // Six nodes at six providers, all healthy.
    for (char p = 'a'; p <= 'f'; ++p) views_[Node(p)].provider = std::string("provider-") + p;
  }
  void TearDown() override {
    meta_.reset();
    std::filesystem::remove_all(dir_);
  }

  static std::string Node(char provider) { return std::string("node-") + provider; }

  // Stores an object of one piece whose stripes are placed as given (4+2 unless said).
  void PutPiece(const std::string& key, const std::vector<std::vector<std::string>>& stripes,
                int k = 4, int m = 2, uint64_t size = 1000) {
    v1::ObjectRecord r;
    r.set_size(size);
    v1::ObjectPart* part = r.add_parts();
    v1::Manifest* mf = part->mutable_manifest();
    std::string id(16, '\0');
    for (size_t i = 0; i < key.size() && i < id.size(); ++i) id[i] = key[i];
    mf->set_object_id(id);
    mf->set_size(size);
    mf->set_k(k);
    mf->set_m(m);
    for (const auto& nodes : stripes) {
      auto* s = mf->add_stripes();
      for (const auto& n : nodes) s->add_nodes(n);
    }
    part->set_piece_id(id);
    ASSERT_TRUE(meta_->PutObject("b", key, r).ok());
  }
  std::vector<std::string> AllSix() const {
    return {Node('a'), Node('b'), Node('c'), Node('d'), Node('e'), Node('f')};
  }
  SafetyReport Scan() {
    auto r = ComputeSafety(*meta_, views_, *ring_, std::chrono::steady_clock::now() + kNoDeadline);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : SafetyReport();
  }

  std::string dir_;
  std::unique_ptr<MetaStore> meta_;
  std::unique_ptr<client::KeyRing> ring_;
  NodeViews views_;
};

TEST_F(StatusTest, EmptyStoreHasNoStripesAndNoSurvivalFigure) {
  SafetyReport r = Scan();
  EXPECT_EQ(r.stripes, 0u);
  EXPECT_EQ(r.pieces, 0u);
  EXPECT_FALSE(r.losses_survived.has_value());
  EXPECT_TRUE(r.complete);
}

TEST_F(StatusTest, HealthySystemSurvivesTwoProviderLosses) {
  PutPiece("one", {AllSix(), AllSix()}, 4, 2, 5000);
  PutPiece("two", {AllSix()}, 4, 2, 700);
  SafetyReport r = Scan();
  EXPECT_EQ(r.pieces, 2u);
  EXPECT_EQ(r.bytes, 5700u);
  EXPECT_EQ(r.stripes, 3u);
  EXPECT_EQ(r.healthy(), 3u);
  EXPECT_EQ(r.lost, 0u);
  EXPECT_EQ(r.losses_survived, 2);
  EXPECT_EQ(r.shards_by_node.at(Node('c')), 3u);
}

TEST_F(StatusTest, DownNodeLeavesStripesMissingOneAndSurvivingOne) {
  PutPiece("one", {AllSix(), AllSix()});
  PutPiece("two", {{Node('b'), Node('c'), Node('d'), Node('e'), Node('f'), Node('b')}});
  views_[Node('a')].healthy = false;
  SafetyReport r = Scan();
  EXPECT_EQ(r.stripes, 3u);
  EXPECT_EQ(r.missing[1], 2u);  // the two stripes with a shard on node-a
  EXPECT_EQ(r.healthy(), 1u);
  // Worst stripe: "one" has 5 healthy shards on 5 providers: 1 more loss keeps 4.
  EXPECT_EQ(r.losses_survived, 1);
}

TEST_F(StatusTest, UnreachableNodeCountsAsMissingAndItsStripesAsAtRisk) {
  PutPiece("one", {AllSix(), AllSix()});
  PutPiece("two", {{Node('b'), Node('c'), Node('d'), Node('e'), Node('f'), Node('b')}});
  // Not seen up, not declared down yet: what CurrentNodeViews makes of it.
  views_[Node('a')].healthy = false;
  views_[Node('a')].unreachable = true;
  SafetyReport r = Scan();
  EXPECT_EQ(r.at_risk, 2u);  // the two stripes with a shard on node-a
  EXPECT_EQ(r.missing[1], 2u);
  EXPECT_EQ(r.healthy(), 1u);
  EXPECT_EQ(r.losses_survived, 1);  // five healthy shards left on five providers
  // Declared down: still missing, no longer at risk (being repaired).
  views_[Node('a')].unreachable = false;
  r = Scan();
  EXPECT_EQ(r.at_risk, 0u);
  EXPECT_EQ(r.missing[1], 2u);
}

TEST_F(StatusTest, TwoShardsAtOneProviderAreUnderSpreadAndOneLossOfTwo) {
  PutPiece("one", {AllSix()});
  EXPECT_EQ(Scan().under_spread, 0u);
  EXPECT_EQ(Scan().losses_survived, 2);
  // Two shards at provider-b (on one node): six shards at five providers, but losing
  // provider-b and then any other leaves 3 < k.
  PutPiece("two", {{Node('a'), Node('b'), Node('c'), Node('d'), Node('e'), Node('b')}});
  SafetyReport r = Scan();
  EXPECT_EQ(r.under_spread, 1u);
  EXPECT_EQ(r.healthy(), 2u);
  EXPECT_EQ(r.losses_survived, 1);
}

TEST_F(StatusTest, DrainWhileANodeIsUnreachableDoublesUpAndIsRefused) {
  PutPiece("one", {AllSix(), AllSix()});
  views_[Node('a')].healthy = false;
  views_[Node('a')].unreachable = true;
  std::set<std::string> usable = {"provider-c", "provider-d", "provider-e", "provider-f"};
  auto impact = ComputeDrainImpact(*meta_, views_, *ring_, Node('b'), usable,
                                   std::chrono::steady_clock::now() + kNoDeadline);
  ASSERT_TRUE(impact.ok()) << impact.status();
  EXPECT_EQ(impact->survives_before, 1);
  // node-b's shard goes to one of c..f: five shards at four providers, one holding two.
  EXPECT_EQ(impact->survives_after, 0);
  EXPECT_EQ(impact->stripes_moved, 2u);
  EXPECT_EQ(impact->stripes_doubled, 2u);
  impact->unreachable = {Node('a')};
  std::string why = UnsafeReason(*impact, 6, "drain");
  EXPECT_NE(why.find("node node-a is unreachable"), std::string::npos) << why;
  EXPECT_NE(why.find("only 4 providers would be left for 6 shards"), std::string::npos) << why;
  EXPECT_NE(why.find("survives the loss of 1 provider now, 0 providers after the drain"),
            std::string::npos)
      << why;
  EXPECT_NE(why.find("--force"), std::string::npos) << why;
}

TEST_F(StatusTest, DrainOntoAFreeProviderKeepsTheToleranceAndIsSafe) {
  views_[Node('g')].provider = "provider-g";
  PutPiece("one", {AllSix(), AllSix()});
  std::set<std::string> usable = {"provider-a", "provider-c", "provider-d",
                                  "provider-e", "provider-f", "provider-g"};
  auto impact = ComputeDrainImpact(*meta_, views_, *ring_, Node('b'), usable,
                                   std::chrono::steady_clock::now() + kNoDeadline);
  ASSERT_TRUE(impact.ok()) << impact.status();
  EXPECT_EQ(impact->survives_before, 2);
  EXPECT_EQ(impact->survives_after, 2);
  EXPECT_EQ(impact->stripes_doubled, 0u);
  EXPECT_EQ(UnsafeReason(*impact, 6, "drain"), "");
  EXPECT_EQ(ToleranceText(*impact, "remove"),
            "survives the loss of 2 providers now, 2 providers after the remove");
  // One provider fewer: every stripe must double up.
  usable.erase("provider-g");
  impact = ComputeDrainImpact(*meta_, views_, *ring_, Node('b'), usable,
                              std::chrono::steady_clock::now() + kNoDeadline);
  ASSERT_TRUE(impact.ok());
  EXPECT_EQ(impact->survives_after, 1);
  EXPECT_EQ(impact->stripes_doubled, 2u);
  EXPECT_NE(UnsafeReason(*impact, 6, "drain"), "");
}

TEST_F(StatusTest, StripeBelowKIsLostAndUnknownNodesCountAsMissing) {
  PutPiece("one", {AllSix()});
  PutPiece("two", {{Node('a'), Node('b'), "gone-1", "gone-2", "gone-3", Node('f')}});
  SafetyReport r = Scan();
  EXPECT_EQ(r.lost, 1u);
  EXPECT_EQ(r.healthy(), 1u);
  EXPECT_EQ(r.losses_survived, -1);
  EXPECT_EQ(r.shards_by_node.at("gone-2"), 1u);
}

TEST_F(StatusTest, RemovedNodeCountsAsMissing) {
  PutPiece("one", {AllSix()});
  views_[Node('d')].healthy = false;  // what CurrentNodeViews makes of a REMOVED node
  SafetyReport r = Scan();
  EXPECT_EQ(r.missing[1], 1u);
}

TEST_F(StatusTest, ForgettingARemovedNodeCountsWhatIsGivenUp) {
  // node-a holds a shard of both stripes of "one" and of "two"; in "two", node-b..node-d are
  // down too, so without node-a two healthy shards are left: below k = 4.
  PutPiece("one", {AllSix(), {Node('a'), Node('b'), Node('c'), Node('d'), Node('e'), Node('a')}});
  PutPiece("two", {AllSix()});
  PutPiece("far", {{Node('b'), Node('c'), Node('d'), Node('e'), Node('f'), Node('b')}});
  views_[Node('a')].healthy = false;  // removed
  auto impact = ImpactOfForget(*meta_, Node('a'), views_, *ring_);
  ASSERT_TRUE(impact.ok()) << impact.status();
  EXPECT_EQ(impact->shards, 4u);
  EXPECT_EQ(impact->stripes, 3u);
  EXPECT_EQ(impact->stripes_lost, 0u);
  for (char p : {'b', 'c', 'd'}) views_[Node(p)].healthy = false;
  impact = ImpactOfForget(*meta_, Node('a'), views_, *ring_);
  ASSERT_TRUE(impact.ok());
  EXPECT_EQ(impact->stripes_lost, 3u);
  EXPECT_EQ(ImpactOfForget(*meta_, "node-z", views_, *ring_)->shards, 0u);
}

TEST_F(StatusTest, OnlyARemovedNodeWithoutShardsIsForgottenUnlessForced) {
  v1::NodeStateRecord removed;
  removed.set_state(v1::NodeStateRecord::REMOVED);
  v1::NodeStateRecord draining;
  draining.set_state(v1::NodeStateRecord::DRAINING);
  ForgetImpact none;
  ForgetImpact holds{.shards = 5, .stripes = 4, .stripes_lost = 1};
  EXPECT_TRUE(ForgetRefusal("n", &removed, true, none, false).ok());
  absl::Status refused = ForgetRefusal("n", &removed, true, holds, false);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.message().find("still holds 5 shards of 4 stripes (1 of those stripes"),
            std::string::npos)
      << refused;
  EXPECT_NE(refused.message().find("--force"), std::string::npos);
  EXPECT_TRUE(ForgetRefusal("n", &removed, true, holds, true).ok());
  // An active or draining node is not forgotten, even forced.
  EXPECT_EQ(ForgetRefusal("n", nullptr, true, none, true).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ForgetRefusal("n", &draining, true, none, true).code(),
            absl::StatusCode::kInvalidArgument);
  // Dropped from the config without `remove`: stripes still name it, so it may be forgotten.
  EXPECT_EQ(ForgetRefusal("n", nullptr, false, holds, false).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(ForgetRefusal("n", nullptr, false, holds, true).ok());
  EXPECT_EQ(ForgetRefusal("n", nullptr, false, none, false).code(), absl::StatusCode::kNotFound);
}

TEST_F(StatusTest, CorruptChunkFoundByScrubCountsAsMissing) {
  PutPiece("corrupt", {AllSix(), AllSix()});
  client::ObjectId object{};
  std::memcpy(object.data(), "corrupt", 7);
  // Shard 2 of stripe 1 is on node-c.
  views_[Node('c')].corrupt_chunks.insert(
      client::ChunkIdString(ring_->ComputeChunkId(object, 1, 2)));
  SafetyReport r = Scan();
  EXPECT_EQ(r.healthy(), 1u);
  EXPECT_EQ(r.missing[1], 1u);
  auto piece = meta_->GetPiece(std::string("corrupt") + std::string(9, '\0'));
  ASSERT_TRUE(piece.ok() && piece->has_value());
  EXPECT_EQ(UnhealthyShards((*piece)->manifest(), 1, views_, *ring_), std::vector<int>{2});
  EXPECT_TRUE(UnhealthyShards((*piece)->manifest(), 0, views_, *ring_).empty());
}

TEST_F(StatusTest, FewerProvidersThanShardsSurviveFewerLosses) {
  // 4+2 over three providers, two shards each: losing one provider leaves 4.
  NodeViews three;
  for (char p = 'a'; p <= 'f'; ++p) {
    three[Node(p)].provider = std::string("provider-") + char('a' + (p - 'a') / 2);
  }
  views_ = three;
  PutPiece("one", {AllSix()});
  EXPECT_EQ(Scan().losses_survived, 1);
}

TEST_F(StatusTest, PassedDeadlineGivesPartialReport) {
  PutPiece("one", {AllSix()});
  auto r = ComputeSafety(*meta_, views_, *ring_,
                         std::chrono::steady_clock::now() - std::chrono::seconds(1));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->complete);
}

TEST_F(StatusTest, DrainQueuesEveryStripeWithAShardOnTheNode) {
  PutPiece("one", {AllSix(), {Node('b'), Node('c'), Node('d'), Node('e'), Node('f'), Node('b')}});
  PutPiece("two", {AllSix()});
  views_[Node('f')].healthy = false;  // one other shard of every stripe is down
  auto queued = QueueStripesOn(*meta_, {{Node('a'), "drain"}}, views_, *ring_);
  ASSERT_TRUE(queued.ok()) << queued.status();
  EXPECT_EQ(queued->stripes, 2u);
  EXPECT_EQ(queued->shards_by_node[Node('a')], 2u);
  EXPECT_EQ(meta_->RepairBacklog(), 2u);
  auto pending = meta_->PendingRepairs(10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  for (const auto& r : *pending) {
    EXPECT_EQ(r.reason(), "drain");
    EXPECT_EQ(r.stripe(), 0u);
    ASSERT_EQ(r.shards_size(), 1);
    EXPECT_EQ(r.shards(0), 0u);
    EXPECT_EQ(r.margin(), 1u);  // m = 2, one shard (on node-f) unhealthy
  }
  // Queueing again merges into the same entries.
  ASSERT_TRUE(QueueStripesOn(*meta_, {{Node('a'), "drain"}}, views_, *ring_).ok());
  EXPECT_EQ(meta_->RepairBacklog(), 2u);
}

TEST_F(StatusTest, NodeStatesPersist) {
  v1::NodeStateRecord record;
  record.set_state(v1::NodeStateRecord::DRAINING);
  record.set_changed_ms(42);
  record.set_shards_when_changed(7);
  ASSERT_TRUE(meta_->SetNodeState("node-x", record).ok());
  record.set_state(v1::NodeStateRecord::REMOVED);
  ASSERT_TRUE(meta_->SetNodeState("node-y", record).ok());
  meta_.reset();
  auto reopened = MetaStore::Open(dir_);
  ASSERT_TRUE(reopened.ok());
  meta_ = std::move(*reopened);
  auto states = meta_->NodeStates();
  ASSERT_TRUE(states.ok());
  ASSERT_EQ(states->size(), 2u);
  EXPECT_EQ(states->at("node-x").state(), v1::NodeStateRecord::DRAINING);
  EXPECT_EQ(states->at("node-x").shards_when_changed(), 7u);
  EXPECT_EQ(states->at("node-y").state(), v1::NodeStateRecord::REMOVED);
}

TEST_F(StatusTest, SpreadMovesTheSecondShardOfAProviderOntoAFreeProvider) {
  // After a repair with five providers for six shards, node-b holds two shards of stripe 0;
  // stripe 1 is spread already; provider-g has just joined.
  std::map<std::string, std::string> provider_of;
  for (const auto& [id, view] : views_) provider_of[id] = view.provider;
  provider_of["node-g"] = "provider-g";
  std::set<std::string> usable = {"provider-b", "provider-c", "provider-d",
                                  "provider-e", "provider-f", "provider-g"};
  PutPiece("one", {{Node('b'), Node('c'), Node('d'), Node('e'), Node('f'), Node('b')},
                   {Node('g'), Node('b'), Node('c'), Node('d'), Node('e'), Node('f')}});
  // Three shards at provider-c and two at provider-d, and three free providers: three move.
  PutPiece("two", {{Node('c'), Node('c'), Node('d'), Node('c'), Node('d'), Node('e')}});
  auto queued = QueueSpreadStripes(*meta_, provider_of, usable);
  ASSERT_TRUE(queued.ok()) << queued.status();
  EXPECT_EQ(*queued, 2u);
  auto pending = meta_->PendingRepairs(10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  std::map<std::string, v1::RepairRecord> by_piece;
  for (const auto& r : *pending) by_piece[r.piece_id().substr(0, 3)] = r;
  const v1::RepairRecord& one = by_piece.at("one");
  EXPECT_EQ(one.reason(), "spread");
  EXPECT_EQ(one.stripe(), 0u);
  ASSERT_EQ(one.shards_size(), 1);
  EXPECT_EQ(one.shards(0), 5u);  // the later of node-b's two shards
  EXPECT_EQ(one.margin(), 1u);   // losing provider-b leaves exactly k
  const v1::RepairRecord& two = by_piece.at("two");
  ASSERT_EQ(two.shards_size(), 3);  // the later shards of provider-c, then of provider-d
  EXPECT_EQ(two.shards(0), 1u);
  EXPECT_EQ(two.shards(1), 3u);
  EXPECT_EQ(two.shards(2), 4u);
  EXPECT_EQ(two.margin(), 0u);  // losing provider-c leaves 3 < k

  // With no free provider nothing is queued, however the shards share providers.
  ASSERT_TRUE(meta_->FinishRepair(one, std::nullopt).ok());
  ASSERT_TRUE(meta_->FinishRepair(two, std::nullopt).ok());
  for (const char* gone : {"provider-b", "provider-f", "provider-g"}) usable.erase(gone);
  auto none = QueueSpreadStripes(*meta_, provider_of, usable);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);
  EXPECT_EQ(meta_->RepairBacklog(), 0u);
}

TEST_F(StatusTest, AddedNodeEndpointsComeBackWithTheirTokenOnlyUnderTheirKey) {
  v1::NodeStateRecord record;
  record.set_changed_ms(42);
  v1::NodeEndpointRecord* e = record.mutable_endpoint();
  e->set_provider("provider-g");
  e->set_weight(2.5);
  e->set_address("127.0.0.1:7000");
  e->set_plaintext(true);
  e->set_sealed_token(client::SealMetadata(*ring_, "secret-token", "node-token/node-g"));
  ASSERT_TRUE(meta_->SetNodeState("node-g", record).ok());
  v1::NodeStateRecord config_node;  // a drained node of the config: no endpoint
  config_node.set_state(v1::NodeStateRecord::DRAINING);
  ASSERT_TRUE(meta_->SetNodeState("node-a", config_node).ok());

  auto added = NodeStates::AddedEndpoints(*meta_, *ring_);
  ASSERT_TRUE(added.ok()) << added.status();
  ASSERT_EQ(added->size(), 1u);
  EXPECT_EQ((*added)[0].spec.id, "node-g");
  EXPECT_EQ((*added)[0].spec.provider, "provider-g");
  EXPECT_EQ((*added)[0].spec.weight, 2.5);
  EXPECT_EQ((*added)[0].address, "127.0.0.1:7000");
  EXPECT_EQ((*added)[0].token, "secret-token");
  EXPECT_TRUE((*added)[0].plaintext);

  auto other = client::KeyRing::FromMasterKey(client::SecretBytes::Random(32));
  ASSERT_TRUE(other.ok());
  auto wrong = NodeStates::AddedEndpoints(*meta_, *other);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kDataLoss);

  // A token sealed for another node id does not open as this one's.
  e->set_sealed_token(client::SealMetadata(*ring_, "secret-token", "node-token/node-h"));
  ASSERT_TRUE(meta_->SetNodeState("node-g", record).ok());
  EXPECT_EQ(NodeStates::AddedEndpoints(*meta_, *ring_).status().code(),
            absl::StatusCode::kDataLoss);
}

StatusDocument SampleDocument() {
  StatusDocument doc;
  doc.generated_ms = 1700000000000;
  doc.k = 4;
  doc.m = 2;
  NodeRow a{"node-a", "provider-a", "127.0.0.1:1", "up",    "active", 1699999999000,
            0.25,     1 << 20,      2 << 20,       3 << 20, 0,        0,
            17,       std::nullopt};
  NodeRow b{"node-b", "provider-b", "127.0.0.1:2", "declared down", "draining", 0, 0, 0, 0, 0, 0, 3,
            5,        std::nullopt};
  NodeRow b2 = b;
  b2.id = "node-b2";
  b2.state = "active";
  doc.nodes = {a, b, b2};
  doc.safety.pieces = 10;
  doc.safety.bytes = 123456;
  doc.safety.stripes = 1234;
  doc.safety.missing = {{0, 1200}, {1, 30}, {2, 3}};
  doc.safety.lost = 1;
  doc.safety.at_risk = 7;
  doc.safety.under_spread = 9;
  doc.safety.losses_survived = -1;
  doc.safety.shards_by_node = {{"node-a", 17}};
  doc.repair.backlog = 33;
  doc.repair.done = 12;
  doc.repair.bytes_per_second = 1048576;
  doc.repair.eta_seconds = 130;
  doc.deletion_backlog = 4;
  doc.drains = {{"node-b", "draining", 1699999000000, 400, 120}};
  return doc;
}

TEST(StatusDocumentTest, JsonHasTheDocumentedShape) {
  std::string text = StatusJson(SampleDocument());
  boost::json::value v = boost::json::parse(text);
  const auto& o = v.as_object();
  EXPECT_EQ(o.at("profile").at("k").to_number<int>(), 4);
  const auto& providers = o.at("providers").as_array();
  ASSERT_EQ(providers.size(), 2u);
  EXPECT_EQ(providers[1].at("name").as_string(), "provider-b");
  ASSERT_EQ(providers[1].at("nodes").as_array().size(), 2u);
  const auto& a = providers[0].at("nodes").as_array()[0];
  EXPECT_EQ(a.at("id").as_string(), "node-a");
  EXPECT_EQ(a.at("health").as_string(), "up");
  EXPECT_EQ(a.at("state").as_string(), "active");
  EXPECT_EQ(a.at("shards").to_number<int>(), 17);
  EXPECT_EQ(a.at("free_bytes").to_number<uint64_t>(), 2u << 20);
  const auto& safety = o.at("safety");
  EXPECT_EQ(safety.at("stripes").to_number<int>(), 1234);
  EXPECT_EQ(safety.at("healthy").to_number<int>(), 1200);
  EXPECT_EQ(safety.at("missing").at("1").to_number<int>(), 30);
  EXPECT_EQ(safety.at("missing").at("2").to_number<int>(), 3);
  EXPECT_FALSE(safety.at("missing").as_object().contains("0"));
  EXPECT_EQ(safety.at("lost").to_number<int>(), 1);
  EXPECT_EQ(safety.at("at_risk").to_number<int>(), 7);
  EXPECT_EQ(safety.at("under_spread").to_number<int>(), 9);
  EXPECT_EQ(safety.at("objects_and_parts").to_number<int>(), 10);
  EXPECT_EQ(safety.at("survives_provider_losses").to_number<int>(), -1);
  EXPECT_EQ(o.at("backlog").at("repair").at("count").to_number<int>(), 33);
  EXPECT_EQ(o.at("backlog").at("deletion").at("count").to_number<int>(), 4);
  EXPECT_EQ(o.at("drains").as_array()[0].at("shards_left").to_number<int>(), 120);
}

TEST(StatusDocumentTest, UnknownValuesAreNull) {
  StatusDocument doc;
  std::string text = StatusJson(doc);
  boost::json::value v = boost::json::parse(text);
  EXPECT_TRUE(v.at("safety").at("survives_provider_losses").is_null());
  EXPECT_TRUE(v.at("backlog").at("repair").at("eta_seconds").is_null());
  auto back = ParseStatusJson(text);
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(back->safety.losses_survived.has_value());
  EXPECT_FALSE(back->repair.eta_seconds.has_value());
}

TEST(StatusDocumentTest, JsonRoundTrips) {
  StatusDocument doc = SampleDocument();
  auto back = ParseStatusJson(StatusJson(doc));
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->nodes.size(), 3u);
  EXPECT_EQ(back->nodes[1].id, "node-b");
  EXPECT_EQ(back->nodes[1].provider, "provider-b");
  EXPECT_EQ(back->nodes[1].state, "draining");
  EXPECT_EQ(back->nodes[0].latency_ms, 0.25);
  EXPECT_EQ(back->nodes[0].shards, 17u);
  EXPECT_EQ(back->safety.missing, doc.safety.missing);
  EXPECT_EQ(back->safety.losses_survived, -1);
  EXPECT_EQ(back->safety.at_risk, 7u);
  EXPECT_EQ(back->safety.under_spread, 9u);
  EXPECT_EQ(back->safety.pieces, 10u);
  EXPECT_EQ(back->repair.done, 12u);
  EXPECT_EQ(back->repair.eta_seconds, 130.0);
  ASSERT_EQ(back->drains.size(), 1u);
  EXPECT_EQ(back->drains[0].shards_at_start, 400u);
}

TEST(StatusDocumentTest, WorkersRoundTripAndShowOneLineEach) {
  StatusDocument doc = SampleDocument();
  WorkerStatus repair;
  repair.name = "repair";
  repair.state = WorkerState::kBackoff;
  repair.detail = "33 stripes queued";
  repair.last_error = "UNAVAILABLE: too few nodes";
  repair.errors_in_a_row = 3;
  repair.steps = 7;
  repair.next_step_ms = 4000;
  WorkerStatus deleter;
  deleter.name = "deleter";
  deleter.state = WorkerState::kBusy;
  deleter.steps = 2;
  doc.workers = {repair, deleter};
  std::string json = StatusJson(doc);
  boost::json::value v = boost::json::parse(json);
  const auto& workers = v.at("workers").as_array();
  ASSERT_EQ(workers.size(), 2u);
  EXPECT_EQ(workers[0].at("name").as_string(), "repair");
  EXPECT_EQ(workers[0].at("state").as_string(), "backoff");
  EXPECT_EQ(workers[0].at("errors_in_a_row").to_number<int>(), 3);
  EXPECT_EQ(workers[1].at("next_step_ms").to_number<int>(), -1);
  auto back = ParseStatusJson(json);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->workers.size(), 2u);
  EXPECT_EQ(back->workers[0].state, WorkerState::kBackoff);
  EXPECT_EQ(back->workers[0].last_error, repair.last_error);
  EXPECT_EQ(back->workers[0].next_step_ms, 4000);
  EXPECT_EQ(back->workers[1].state, WorkerState::kBusy);
  EXPECT_EQ(back->workers[1].steps, 2u);
  std::string text = StatusText(*back, doc.generated_ms);
  EXPECT_NE(text.find("Workers:\n  repair: backoff after 3 errors (next in 4 s); 33 stripes "
                      "queued; last error: UNAVAILABLE: too few nodes\n  deleter: busy\n"),
            std::string::npos)
      << text;
}

TEST(StatusDocumentTest, ParseRejectsWhatIsNotADocument) {
  EXPECT_EQ(ParseStatusJson("not json").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseStatusJson("[1, 2]").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseStatusJson("{\"safety\": {\"missing\": {\"1\": -5}}}").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(StatusDocumentTest, TextSummarisesSafety) {
  StatusDocument doc = SampleDocument();
  std::string text = StatusText(doc, doc.generated_ms);
  EXPECT_NE(text.find("1,200 of 1,234 stripes healthy, 30 missing 1 shard, 3 missing 2 shards, "
                      "1 LOST (fewer than k shards left), 7 at risk (a shard on an unreachable "
                      "node), 9 under-spread (two shards at one provider)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Data:      10 objects and parts"), std::string::npos) << text;
  EXPECT_EQ(text.find("piece"), std::string::npos) << text;
  EXPECT_NE(text.find("declared down, repairing"), std::string::npos) << text;
  EXPECT_NE(text.find("node-b (draining): 120 shards left of 400, 70% moved"), std::string::npos)
      << text;
  EXPECT_NE(text.find("33 stripes queued (12 shards repaired since start, 1.0 MiB/s, "
                      "about 2m 10s left)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("provider-a  node-a"), std::string::npos) << text;

  doc.safety.missing = {{0, 1234}};
  doc.safety.lost = 0;
  doc.safety.at_risk = 0;
  doc.safety.under_spread = 0;
  doc.safety.losses_survived = 2;
  text = StatusText(doc, doc.generated_ms);
  EXPECT_NE(text.find("all 1,234 stripes healthy; survives the loss of 2 providers"),
            std::string::npos)
      << text;
  doc.safety.losses_survived = 1;
  EXPECT_NE(StatusText(doc, 0).find("survives the loss of 1 provider\n"), std::string::npos);
}

TEST(StatusDocumentTest, UnreachableNodeShowsTheTimeBeforeItIsDeclaredDown) {
  StatusDocument doc = SampleDocument();
  doc.nodes[0].health = "unreachable";
  doc.nodes[0].declared_down_in_s = 42.3;
  doc.nodes[2].shards = 0;
  auto back = ParseStatusJson(StatusJson(doc));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->nodes[0].declared_down_in_s, 42.3);
  EXPECT_FALSE(back->nodes[1].declared_down_in_s.has_value());
  std::string text = StatusText(*back, doc.generated_ms);
  EXPECT_NE(text.find("unreachable (declared down in 43s)"), std::string::npos) << text;
  EXPECT_NE(text.find("declared down, repaired"), std::string::npos) << text;
}

TEST(StatusDocumentTest, Thousands) {
  EXPECT_EQ(Thousands(0), "0");
  EXPECT_EQ(Thousands(999), "999");
  EXPECT_EQ(Thousands(1000), "1,000");
  EXPECT_EQ(Thousands(1234567), "1,234,567");
}

}  // namespace
}  // namespace mosaic::gateway
