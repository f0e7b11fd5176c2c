// The scrub's pure parts: mapping node findings (chunk ids) back to the shards of pieces,
// and the repair records made from them.

#include "server/gateway/jobs/scrubber.h"

#include <gtest/gtest.h>

#include "client/crypto/key_ring.h"
#include "client/crypto/secret.h"

namespace mosaic::gateway {
namespace {

client::KeyRing Ring() {
  auto ring = client::KeyRing::FromMasterKey(client::SecretBytes(client::kKeyBytes));
  EXPECT_TRUE(ring.ok());
  return std::move(*ring);
}

client::ObjectId IdOf(int seed) {
  client::ObjectId id{};
  for (size_t i = 0; i < id.size(); ++i) id[i] = std::byte(seed * 31 + int(i));
  return id;
}

// A 2+1 manifest of `stripes` stripes; shard i of stripe s on node "n<(s + i) % 4>".
v1::Manifest Manifest(int seed, int stripes) {
  v1::Manifest m;
  m.set_k(2);
  m.set_m(1);
  client::ObjectId id = IdOf(seed);
  m.set_object_id(std::string(reinterpret_cast<const char*>(id.data()), id.size()));
  for (int s = 0; s < stripes; ++s) {
    auto* p = m.add_stripes();
    for (int i = 0; i < 3; ++i) p->add_nodes("n" + std::to_string((s + i) % 4));
  }
  return m;
}

std::string Chunk(const client::KeyRing& ring, int seed, uint64_t stripe, int shard) {
  return client::ChunkIdString(ring.ComputeChunkId(IdOf(seed), stripe, shard));
}

TEST(ScrubFindingsTest, FindingsMapToTheShardsOnTheReportingNode) {
  client::KeyRing ring = Ring();
  v1::Manifest m = Manifest(1, 3);
  // Stripe 1 shard 0 is on n1, stripe 2 shard 2 on n0.
  Findings findings{{"n1", {Chunk(ring, 1, 1, 0)}}, {"n0", {Chunk(ring, 1, 2, 2)}}};
  auto found = MatchFindings(ring, findings, "piece", m);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].node_id, "n1");
  EXPECT_EQ(found[0].stripe, 1u);
  EXPECT_EQ(found[0].shard, 0);
  EXPECT_EQ(found[0].piece_id, "piece");
  EXPECT_EQ(found[1].node_id, "n0");
  EXPECT_EQ(found[1].stripe, 2u);
  EXPECT_EQ(found[1].shard, 2);
}

TEST(ScrubFindingsTest, AChunkReportedByAnotherNodeOrOfAnotherPieceIsNotMatched) {
  client::KeyRing ring = Ring();
  v1::Manifest m = Manifest(1, 2);
  // The chunk of stripe 0 shard 0 lives on n0; n3 reporting its id is not about this piece.
  Findings findings{{"n3", {Chunk(ring, 1, 0, 0)}}, {"n1", {Chunk(ring, 2, 0, 1)}}};
  EXPECT_TRUE(MatchFindings(ring, findings, "piece", m).empty());
}

TEST(ScrubFindingsTest, RepairsAreOneRecordPerStripeWithTheMarginLeft) {
  client::KeyRing ring = Ring();
  v1::Manifest m = Manifest(1, 3);
  m.set_m(2);
  std::vector<FoundShard> bad = {
      {"n0", "", "p", 0, 0}, {"n1", "", "p", 0, 1}, {"n3", "", "p", 2, 1}};
  // n2 is down: it holds stripe 0's shard 2 and stripe 2's shard 0.
  auto down = [](const std::string& node) { return node == "n2"; };
  auto records = RepairsFor(bad, m, "scrub", down, 1234);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].stripe(), 0u);
  EXPECT_EQ(std::vector<uint32_t>(records[0].shards().begin(), records[0].shards().end()),
            (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(records[0].margin(), 0u) << "2 bad + 1 down of m = 2";
  EXPECT_EQ(records[1].stripe(), 2u);
  EXPECT_EQ(records[1].margin(), 0u) << "1 bad + 1 down of m = 2";
  EXPECT_EQ(records[0].reason(), "scrub");
  EXPECT_EQ(records[0].piece_id(), "p");
  EXPECT_EQ(records[0].queued_ms(), 1234);
  auto healthy = RepairsFor({{"n3", "", "p", 2, 1}}, m, "scrub", nullptr, 1);
  ASSERT_EQ(healthy.size(), 1u);
  EXPECT_EQ(healthy[0].margin(), 1u);
}

TEST(ScrubFindingsTest, ProgressJsonCarriesTheCounters) {
  DeepScrubProgress p;
  p.running = true;
  p.pieces_done = 3;
  p.pieces_total = 7;
  p.error = "a \"quoted\" error";
  std::string json = ProgressJson(p);
  EXPECT_NE(json.find("\"running\": true"), std::string::npos) << json;
  EXPECT_NE(json.find("\"pieces_done\": 3"), std::string::npos) << json;
  EXPECT_NE(json.find("\"pieces_total\": 7"), std::string::npos) << json;
  EXPECT_NE(json.find("a \\\"quoted\\\" error"), std::string::npos) << json;
}

TEST(ScrubFindingsTest, ProgressJsonReadsBackWhatItWrites) {
  DeepScrubProgress p;
  p.running = false;
  p.run = 4;
  p.pieces_done = 9;
  p.pieces_total = 9;
  p.shards_checked = 54;
  p.bytes = uint64_t{5} << 32;
  p.failures = 2;
  p.skipped = 6;
  p.started_ms = 1700000000123;
  p.finished_ms = 1700000004567;
  p.error = "node \"n1\" said \\ no";
  auto back = ParseProgressJson(ProgressJson(p));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_FALSE(back->running);
  EXPECT_EQ(back->run, 4u);
  EXPECT_EQ(back->pieces_done, 9u);
  EXPECT_EQ(back->pieces_total, 9u);
  EXPECT_EQ(back->shards_checked, 54u);
  EXPECT_EQ(back->bytes, uint64_t{5} << 32);
  EXPECT_EQ(back->failures, 2u);
  EXPECT_EQ(back->skipped, 6u);
  EXPECT_EQ(back->started_ms, 1700000000123);
  EXPECT_EQ(back->finished_ms, 1700000004567);
  EXPECT_EQ(back->error, p.error);
  p.running = true;
  back = ParseProgressJson(ProgressJson(p));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->running);
}

TEST(ScrubFindingsTest, ProgressJsonReaderRefusesWhatIsNotAnObject) {
  EXPECT_EQ(ParseProgressJson("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseProgressJson("[1, 2]").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseProgressJson("{\"run\": 3").status().code(), absl::StatusCode::kInvalidArgument);
  auto sparse = ParseProgressJson("{\"run\": 3, \"running\": \"yes\", \"bytes\": -1}");
  ASSERT_TRUE(sparse.ok()) << sparse.status();
  EXPECT_EQ(sparse->run, 3u);
  EXPECT_FALSE(sparse->running) << "a non-boolean keeps the default";
  EXPECT_EQ(sparse->bytes, 0u) << "a negative count keeps the default";
}

}  // namespace
}  // namespace mosaic::gateway
