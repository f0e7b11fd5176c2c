// DeleteOrQueue (jobs/deleter.h) against in-process node doubles (hostile_cluster.h): the
// shards of unreferenced data that a node did not confirm are queued for deletion, only they,
// instead of being left to the orphan sweep (issue 19: Pipeline::Delete results handled).

#include "server/gateway/jobs/deleter.h"

#include <gtest/gtest.h>

#include "server/gateway/meta/manifest_codec.h"
#include "tests/server/gateway/jobs/hostile_cluster.h"

namespace mosaic::gateway {
namespace {

TEST(DeleteOrQueueTest, QueuesOnlyTheShardsANodeDidNotDelete) {
  auto cluster = test::HostileCluster::Start(6);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  auto manifest = mosaic::test::WritePattern((*cluster)->pipeline(), 7, 300000);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  // Shard 1 of stripe 0 "lives" on a node the pool does not know: its delete fails.
  client::ObjectManifest unreachable = *manifest;
  const std::string kept_on = unreachable.stripes[0].nodes[1];
  unreachable.stripes[0].nodes[1] = "node-gone";

  ASSERT_TRUE(DeleteOrQueue((*cluster)->meta(), (*cluster)->pipeline(), unreachable).ok());

  auto pending = (*cluster)->meta().PendingDeletions(10);
  ASSERT_TRUE(pending.ok()) << pending.status();
  ASSERT_EQ(pending->size(), 1u) << "the undeleted shard is queued";
  const v1::Manifest& queued = pending->front().second.manifest();
  int placed = 0;
  for (int s = 0; s < queued.stripes_size(); ++s) {
    for (int i = 0; i < queued.stripes(s).nodes_size(); ++i) {
      if (queued.stripes(s).nodes(i).empty()) continue;
      ++placed;
      EXPECT_EQ(s, 0);
      EXPECT_EQ(i, 1);
      EXPECT_EQ(queued.stripes(s).nodes(i), "node-gone");
    }
  }
  EXPECT_EQ(placed, 1) << "every other shard was deleted, so not queued";
  // The shard the manifest no longer named is still on its node; every other one is gone.
  const std::string chunk = client::ChunkIdString(
      (*cluster)->pipeline().ring().ComputeChunkId(manifest->object_id, 0, 1));
  EXPECT_TRUE((*cluster)->node(kept_on).has_chunk(chunk));
  const std::string other = client::ChunkIdString(
      (*cluster)->pipeline().ring().ComputeChunkId(manifest->object_id, 0, 0));
  EXPECT_FALSE((*cluster)->node(manifest->stripes[0].nodes[0]).has_chunk(other));
}

TEST(DeleteOrQueueTest, QueuesNothingWhenEveryShardWasDeleted) {
  auto cluster = test::HostileCluster::Start(6);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  auto manifest = mosaic::test::WritePattern((*cluster)->pipeline(), 8, 300000);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  ASSERT_TRUE(DeleteOrQueue((*cluster)->meta(), (*cluster)->pipeline(), *manifest).ok());
  auto pending = (*cluster)->meta().PendingDeletions(10);
  ASSERT_TRUE(pending.ok()) << pending.status();
  EXPECT_TRUE(pending->empty());
}

}  // namespace
}  // namespace mosaic::gateway
