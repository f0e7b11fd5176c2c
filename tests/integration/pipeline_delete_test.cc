// Pipeline::Delete keeps a bounded number of shard deletes in flight (issue 14): a 5 GiB
// object is 7,680 shards, which must not all be sent at once.

#include <gtest/gtest.h>

#include "client/pipeline/pipeline.h"
#include "tests/support/hostile_node.h"
#include "tests/support/pipeline_io.h"

namespace mosaic::client {
namespace {

TEST(PipelineDeleteTest, ShardDeletesInFlightAreBounded) {
  auto node = test::HostileNode::Start("double");
  ASSERT_TRUE(node.ok()) << node.status();
  (*node)->set_delete_delay(std::chrono::milliseconds(5));
  NodePool pool({test::PipelineEndpoint("double", 0, (*node)->address())}, RpcOptions{});
  auto ring = test::NewKeyRing();
  ASSERT_NE(ring, nullptr);
  Pipeline pipeline(*ring, pool, test::SmallStripeOptions());

  ObjectManifest manifest;  // 300 stripes of 4+2, every shard on the double
  manifest.k = 4;
  manifest.m = 2;
  manifest.object_id = NewObjectId();
  manifest.stripes.assign(300, StripePlacement{std::vector<std::string>(6, "double")});
  std::vector<BadShard> failed = pipeline.Delete(manifest);

  EXPECT_TRUE(failed.empty()) << failed.size() << " failed, first: " << failed[0].status;
  EXPECT_GT((*node)->max_concurrent_deletes(), 1);  // they do overlap
  EXPECT_LE((*node)->max_concurrent_deletes(), int(Pipeline::kMaxDeletesInFlight));
}

}  // namespace
}  // namespace mosaic::client
