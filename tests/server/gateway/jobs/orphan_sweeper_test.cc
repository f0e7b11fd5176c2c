// The orphan sweep's decisions: the referenced set, candidates, the grace period and the
// chunks of writers in flight.

#include "server/gateway/jobs/orphan_sweeper.h"

#include <gtest/gtest.h>

#include "client/crypto/key_ring.h"
#include "client/crypto/secret.h"

namespace mosaic::gateway {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using Clock = OrphanLedger::Clock;

auto Unreferenced() {
  return [](const std::string&) { return false; };
}

TEST(OrphanLedgerTest, ACandidateIsNeverDueAtTheSweepThatFirstSawIt) {
  OrphanLedger ledger;
  Clock::time_point t0{};
  EXPECT_TRUE(ledger.Update("n", {"a", "b"}, Unreferenced(), t0, milliseconds(0)).empty());
  EXPECT_EQ(ledger.candidates(), 2u);
  auto due = ledger.Update("n", {"a", "b"}, Unreferenced(), t0 + milliseconds(1), milliseconds(0));
  EXPECT_EQ(due, (std::vector<std::string>{"a", "b"}));
}

TEST(OrphanLedgerTest, GraceCountsFromTheFirstSweepThatSawTheChunk) {
  OrphanLedger ledger;
  Clock::time_point t0{};
  (void)ledger.Update("n", {"old"}, Unreferenced(), t0, hours(24));
  EXPECT_TRUE(
      ledger.Update("n", {"old", "new"}, Unreferenced(), t0 + hours(23), hours(24)).empty());
  auto due = ledger.Update("n", {"old", "new"}, Unreferenced(), t0 + hours(24), hours(24));
  EXPECT_EQ(due, (std::vector<std::string>{"old"})) << "\"new\" was first seen at 23 h";
  EXPECT_EQ(ledger.candidates(), 2u);
}

TEST(OrphanLedgerTest, AChunkReferencedMeanwhileIsForgottenAndItsClockRestarts) {
  OrphanLedger ledger;
  Clock::time_point t0{};
  (void)ledger.Update("n", {"a"}, Unreferenced(), t0, hours(1));
  // A writer committed it: referenced now, so forgotten.
  auto ref = [](const std::string& c) { return c == "a"; };
  EXPECT_TRUE(ledger.Update("n", {"a"}, ref, t0 + hours(2), hours(1)).empty());
  EXPECT_EQ(ledger.candidates(), 0u);
  // Unreferenced again (its object deleted, say): first seen again now.
  EXPECT_TRUE(ledger.Update("n", {"a"}, Unreferenced(), t0 + hours(3), hours(1)).empty());
  EXPECT_EQ(ledger.Update("n", {"a"}, Unreferenced(), t0 + hours(4), hours(1)).size(), 1u);
}

TEST(OrphanLedgerTest, ChunksOfWritersInFlightAreNeverCandidates) {
  client::InFlightChunks in_flight;
  in_flight.Add("uploading");
  auto referenced = [&](const std::string& c) { return in_flight.Contains(c); };
  OrphanLedger ledger;
  Clock::time_point t0{};
  (void)ledger.Update("n", {"uploading", "orphan"}, referenced, t0, milliseconds(0));
  auto due =
      ledger.Update("n", {"uploading", "orphan"}, referenced, t0 + hours(1), milliseconds(0));
  EXPECT_EQ(due, (std::vector<std::string>{"orphan"}));
  in_flight.Remove({"uploading"});
  EXPECT_FALSE(in_flight.Contains("uploading"));
}

TEST(OrphanLedgerTest, InFlightIdsAreCounted) {
  client::InFlightChunks in_flight;
  in_flight.Add("x");
  in_flight.Add("x");
  in_flight.Remove({"x"});
  EXPECT_TRUE(in_flight.Contains("x"));
  in_flight.Remove({"x"});
  EXPECT_FALSE(in_flight.Contains("x"));
  EXPECT_EQ(in_flight.size(), 0u);
}

TEST(OrphanLedgerTest, NodesAreKeptApartAndChunksGoneFromTheListingAreForgotten) {
  OrphanLedger ledger;
  Clock::time_point t0{};
  (void)ledger.Update("n1", {"a"}, Unreferenced(), t0, milliseconds(0));
  EXPECT_TRUE(ledger.Update("n2", {"a"}, Unreferenced(), t0 + hours(1), milliseconds(0)).empty())
      << "the same id on another node is another chunk";
  EXPECT_TRUE(ledger.Update("n1", {}, Unreferenced(), t0 + hours(2), milliseconds(0)).empty());
  EXPECT_EQ(ledger.candidates(), 1u);
  ledger.Forget("n2", "a");
  EXPECT_EQ(ledger.candidates(), 0u);
}

TEST(ReferencedChunksTest, EveryPlacedShardIsReferencedOnItsOwnNode) {
  auto ring = client::KeyRing::FromMasterKey(client::SecretBytes(client::kKeyBytes));
  ASSERT_TRUE(ring.ok());
  client::ObjectId id{};
  id[0] = std::byte{7};
  v1::Manifest m;
  m.set_object_id(std::string(reinterpret_cast<const char*>(id.data()), id.size()));
  for (int s = 0; s < 2; ++s) {
    auto* p = m.add_stripes();
    p->add_nodes("a");
    p->add_nodes(s == 0 ? "b" : "");  // "" = deleted already: nothing to keep
  }
  NodeChunks refs;
  AddManifestChunks(*ring, m, refs);
  auto chunk = [&](uint64_t s, int i) {
    return client::ChunkIdString(ring->ComputeChunkId(id, s, i));
  };
  EXPECT_EQ(refs["a"], (std::unordered_set<std::string>{chunk(0, 0), chunk(1, 0)}));
  EXPECT_EQ(refs["b"], (std::unordered_set<std::string>{chunk(0, 1)}));
  EXPECT_EQ(refs.count(""), 0u);
}

}  // namespace
}  // namespace mosaic::gateway
