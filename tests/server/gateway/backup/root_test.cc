#include "server/gateway/backup/root.h"

#include <gtest/gtest.h>

#include "tests/client/crypto/test_keys.h"

namespace mosaic::gateway {
namespace {

client::KeyRing Ring(uint8_t first) {
  auto ring = client::KeyRing::FromMasterKey(client::testing_keys::CountingKey(first));
  EXPECT_TRUE(ring.ok()) << ring.status();
  return std::move(ring).value();
}

v1::BackupRoot Root(uint64_t generation) {
  v1::BackupRoot r;
  r.set_generation(generation);
  r.set_backup_ms(1700000000000 + int64_t(generation));
  r.mutable_snapshot()->set_last_sequence(42);
  r.mutable_snapshot()->mutable_manifest()->set_object_id(std::string(16, 'o'));
  v1::BackupNode* n = r.add_nodes();
  n->set_id("node-a");
  n->set_provider("provider-a");
  n->set_address("10.0.0.1:7000");
  return r;
}

// Issue 18: the same root chunk id on every node would link a group's tenants across
// providers; the ids differ per node (and per slot and key) and are stable.
TEST(BackupRootTest, SlotChunkIdsAreDistinctPerSlotPerNodeAndPerKeyAndStable) {
  client::KeyRing a = Ring(0), b = Ring(1);
  EXPECT_EQ(RootSlotChunkId(a, 0, "n1").size(), 32u);
  EXPECT_NE(RootSlotChunkId(a, 0, "n1"), RootSlotChunkId(a, 1, "n1"));
  EXPECT_NE(RootSlotChunkId(a, 0, "n1"), RootSlotChunkId(b, 0, "n1"));
  EXPECT_NE(RootSlotChunkId(a, 0, "n1"), RootSlotChunkId(a, 0, "n2"));
  EXPECT_NE(RootSlotChunkId(a, 1, "n1"), RootSlotChunkId(a, 1, "n2"));
  EXPECT_NE(RootSlotChunkId(a, 0, "provider-a-1"), RootSlotChunkId(a, 0, "provider-b-1"));
  EXPECT_EQ(RootSlotChunkId(a, 1, "n1"), RootSlotChunkId(Ring(0), 1, "n1"));
}

TEST(BackupRootTest, GenerationsAlternateBetweenSlots) {
  EXPECT_EQ(RootSlotOf(1), 1);
  EXPECT_EQ(RootSlotOf(2), 0);
  EXPECT_NE(RootSlotOf(7), RootSlotOf(8));
}

TEST(BackupRootTest, SealedRootOpensWithTheKeyAndSlotOnly) {
  client::KeyRing ring = Ring(0);
  std::string sealed = SealRoot(ring, Root(5), 1);
  EXPECT_EQ(sealed.find("node-a"), std::string::npos);  // nothing readable in the chunk
  auto opened = OpenRoot(ring, sealed, 1);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->generation(), 5u);
  EXPECT_EQ(opened->nodes(0).address(), "10.0.0.1:7000");
  EXPECT_EQ(OpenRoot(Ring(3), sealed, 1).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(OpenRoot(ring, sealed, 0).status().code(), absl::StatusCode::kDataLoss);
}

TEST(BackupRootTest, TamperedOrForeignBytesDoNotOpen) {
  client::KeyRing ring = Ring(0);
  std::string sealed = SealRoot(ring, Root(5), 1);
  for (size_t i = 0; i < sealed.size(); i += 7) {
    std::string bad = sealed;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_FALSE(OpenRoot(ring, bad, 1).ok()) << "flip at " << i;
  }
  EXPECT_FALSE(OpenRoot(ring, "", 1).ok());
  EXPECT_FALSE(OpenRoot(ring, std::string(100, 'x'), 1).ok());
  EXPECT_FALSE(OpenRoot(ring, sealed.substr(0, sealed.size() - 1), 1).ok());
}

TEST(BackupRootTest, NewestRootTakesTheHighestGeneration) {
  EXPECT_FALSE(NewestRoot({}).has_value());
  auto newest = NewestRoot({Root(3), Root(9), Root(4), Root(9)});
  ASSERT_TRUE(newest.has_value());
  EXPECT_EQ(newest->generation(), 9u);
}

}  // namespace
}  // namespace mosaic::gateway
