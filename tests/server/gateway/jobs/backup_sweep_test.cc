// The orphan sweep spares the metadata backup: every shard of the backup objects the backup
// state names (current and previous backup, snapshot and increments).
#include <gtest/gtest.h>

#include "server/gateway/jobs/orphan_sweeper.h"
#include "tests/client/crypto/test_keys.h"

namespace mosaic::gateway {
namespace {

v1::BackupObject Object(char tag, const std::vector<std::string>& nodes) {
  v1::BackupObject o;
  o.mutable_manifest()->set_object_id(std::string(16, tag));
  for (const auto& n : nodes) o.mutable_manifest()->add_stripes()->add_nodes(n);
  return o;
}

TEST(BackupSweepTest, BackupObjectsOfCurrentAndPreviousBackupAreReferenced) {
  auto ring = client::KeyRing::FromMasterKey(client::testing_keys::CountingKey(0));
  ASSERT_TRUE(ring.ok());
  v1::BackupState state;
  *state.mutable_current()->mutable_snapshot() = Object('s', {"a", "b"});
  *state.mutable_current()->add_increments() = Object('i', {"c"});
  *state.mutable_previous()->mutable_snapshot() = Object('p', {"d"});
  NodeChunks refs;
  AddBackupChunks(*ring, state, refs);
  EXPECT_EQ(refs["a"].size(), 1u);  // snapshot stripe 0
  EXPECT_EQ(refs["b"].size(), 1u);  // snapshot stripe 1
  EXPECT_EQ(refs["c"].size(), 1u);  // the increment
  EXPECT_EQ(refs["d"].size(), 1u);  // the previous backup
  NodeChunks expected;
  AddManifestChunks(*ring, state.current().snapshot().manifest(), expected);
  EXPECT_EQ(refs["a"], expected["a"]);
  NodeChunks none;
  AddBackupChunks(*ring, v1::BackupState(), none);
  EXPECT_TRUE(none.empty());
}

}  // namespace
}  // namespace mosaic::gateway
