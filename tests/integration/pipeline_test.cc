// The object pipeline against real `mosaic node` processes on loopback: 6 nodes under 6
// provider names, 4+2 (8 nodes under 8 providers where a test needs spare providers).

#include "client/pipeline/pipeline.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "client/pipeline/object_reader.h"
#include "client/pipeline/object_writer.h"
#include "tests/support/node_process.h"
#include "tests/support/pipeline_io.h"

namespace mosaic::client {
namespace {

using test::NodeProcess;
using Clock = std::chrono::steady_clock;

constexpr int kNodes = 8;

class PipelineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    test::NodeOptions o;
    o.segment_size = "256MiB";
    auto nodes = test::StartPipelineNodes(kNodes, o);
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
    MakePipeline(6, test::SmallStripeOptions());
  }
  void TearDown() override {
    pipeline_.reset();
    pool_.reset();
  }

  // A pool of the first `count` nodes (node-i under provider-i) and a pipeline over it.
  void MakePipeline(int count, PipelineOptions options) {
    pipeline_.reset();
    pool_.reset();
    std::vector<NodeEndpoint> endpoints;
    for (int i = 0; i < count; ++i) {
      endpoints.push_back(
          test::PipelineEndpoint(nodes_[i]->options().node_id, i, nodes_[i]->grpc_address()));
    }
    RpcOptions rpc;
    rpc.call_timeout = std::chrono::seconds(20);
    pool_ = std::make_unique<NodePool>(endpoints, rpc);
    pipeline_ = std::make_unique<Pipeline>(*ring_, *pool_, options);
  }

  absl::StatusOr<ObjectManifest> WriteObject(const std::string& data, size_t piece = 100'000) {
    auto writer = pipeline_->NewWriter();
    if (!writer.ok()) return writer.status();
    for (size_t at = 0; at < data.size(); at += piece) {
      auto s = (*writer)->Write(AsBytes(std::string_view(data).substr(at, piece)));
      if (!s.ok()) return s;
    }
    return (*writer)->Finish();
  }
  absl::StatusOr<std::string> ReadRange(const ObjectManifest& m, uint64_t off, uint64_t len) {
    auto reader = pipeline_->NewReader(m, off, len);
    if (!reader.ok()) return reader.status();
    return (*reader)->ReadAll();
  }
  // Reads the whole object and `ranges` random ranges of it, and compares with `data`.
  void ExpectReadsBack(const ObjectManifest& m, const std::string& data, int ranges,
                       uint64_t seed) {
    auto whole = ReadRange(m, 0, data.size());
    ASSERT_TRUE(whole.ok()) << whole.status();
    EXPECT_TRUE(*whole == data) << "object of " << data.size() << " bytes differs";
    std::mt19937_64 rng(seed);
    for (int r = 0; r < ranges && !data.empty(); ++r) {
      uint64_t off = rng() % data.size();
      // Short ranges (within or across a stripe boundary) as often as long ones.
      uint64_t max_len = data.size() - off;
      uint64_t len =
          1 + (r % 2 == 0 ? rng() % std::min<uint64_t>(max_len, 70'000) : rng() % max_len);
      auto part = ReadRange(m, off, len);
      ASSERT_TRUE(part.ok()) << part.status();
      EXPECT_TRUE(*part == data.substr(off, len))
          << data.size() << " [" << off << ", +" << len << ")";
    }
  }
  void ExpectWritesAroundDeadNodes(int a, int b, int expected_losses);
  std::set<std::string> NodesOf(const ObjectManifest& m) {
    std::set<std::string> ids;
    for (const auto& s : m.stripes) ids.insert(s.nodes.begin(), s.nodes.end());
    return ids;
  }

  static std::vector<std::unique_ptr<NodeProcess>> nodes_;
  std::unique_ptr<NodePool> pool_;
  std::unique_ptr<KeyRing> ring_;
  std::unique_ptr<Pipeline> pipeline_;
};

std::vector<std::unique_ptr<NodeProcess>> PipelineTest::nodes_;

TEST_F(PipelineTest, RoundTripsObjectsOfEverySize) {
  const uint64_t stripe = 1 << 20;
  std::mt19937_64 rng(7);
  for (uint64_t size : {uint64_t{0}, uint64_t{1}, stripe - 1, stripe, stripe + 1, 3 * stripe + 7,
                        uint64_t{20} << 20}) {
    std::string data = test::RandomBytes(size + 1, size);
    auto manifest = WriteObject(data);
    ASSERT_TRUE(manifest.ok()) << size << ": " << manifest.status();
    EXPECT_EQ(manifest->size, size);
    ASSERT_EQ(manifest->stripes.size(), std::max<uint64_t>(1, (size + stripe - 1) / stripe));
    EXPECT_EQ(ManifestLossesSurvived(*manifest, *pool_), 2);
    auto whole = ReadRange(*manifest, 0, size);
    ASSERT_TRUE(whole.ok()) << whole.status();
    EXPECT_TRUE(*whole == data) << "object of " << size << " bytes differs";
    for (int r = 0; r < 10 && size > 0; ++r) {
      uint64_t off = rng() % size, len = 1 + rng() % (size - off);
      auto part = ReadRange(*manifest, off, len);
      ASSERT_TRUE(part.ok()) << part.status();
      EXPECT_TRUE(*part == data.substr(off, len)) << size << " [" << off << ", +" << len << ")";
    }
  }
}

// Next hands out views into the decoded stripes (the gateway sends a GET's body from them,
// issue 14): at most `max` bytes, never across a stripe's end, the range's bytes in order,
// each view intact until the next call; Read after Next goes on where it left off.
TEST_F(PipelineTest, NextViewsTheRangeStripeByStripeWithoutCopies) {
  const uint64_t stripe = 1 << 20, size = 3 * stripe + 7, offset = 12'345;
  std::string data = test::RandomBytes(size + 3, size);
  auto manifest = WriteObject(data);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  auto reader = pipeline_->NewReader(*manifest, offset, size - offset);
  ASSERT_TRUE(reader.ok()) << reader.status();
  uint64_t at = offset;
  int views = 0;
  while (at < size - 1000) {
    auto view = (*reader)->Next(300'000);
    ASSERT_TRUE(view.ok()) << view.status();
    ASSERT_FALSE(view->empty()) << at;
    EXPECT_LE(view->size(), 300'000u);
    EXPECT_LE(at % stripe + view->size(), stripe) << "a view across a stripe's end at " << at;
    ASSERT_TRUE(AsStringView(*view) == std::string_view(data).substr(at, view->size())) << at;
    at += view->size();
    ++views;
  }
  EXPECT_GE(views, 12);  // 300,000 bytes at most, stripe ends: at least 3.06 MiB / 300,000
  std::string rest(size - at, '\0');
  auto n = (*reader)->Read({reinterpret_cast<std::byte*>(rest.data()), rest.size()});
  ASSERT_TRUE(n.ok()) << n.status();
  ASSERT_EQ(*n, rest.size());
  EXPECT_TRUE(rest == data.substr(at));
  auto end = (*reader)->Next(300'000);
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_TRUE(end->empty());
}

// The sizes of issue 4 with the default 4 MiB stripe and 64 MiB budget, written in pieces
// that do not divide the stripe.
TEST_F(PipelineTest, RoundTripsIssueSizesWithDefaultStripe) {
  MakePipeline(6, PipelineOptions{});
  const uint64_t stripe = kDefaultStripeBytes;
  for (uint64_t size : {uint64_t{0}, uint64_t{1}, stripe - 1, stripe, uint64_t{100} << 20}) {
    SCOPED_TRACE(size);
    std::string data = test::RandomBytes(size + 11, size);
    auto manifest = WriteObject(data, 333'333);
    ASSERT_TRUE(manifest.ok()) << manifest.status();
    EXPECT_EQ(manifest->size, size);
    EXPECT_EQ(manifest->stripe_bytes, stripe);
    ASSERT_EQ(manifest->stripes.size(), std::max<uint64_t>(1, (size + stripe - 1) / stripe));
    EXPECT_EQ(ManifestLossesSurvived(*manifest, *pool_), 2);
    ExpectReadsBack(*manifest, data, size > stripe ? 40 : 10, size);
    // Reading at the very end gives nothing; past it is OUT_OF_RANGE.
    auto at_end = ReadRange(*manifest, size, 10);
    ASSERT_TRUE(at_end.ok()) << at_end.status();
    EXPECT_TRUE(at_end->empty());
    EXPECT_EQ(pipeline_->NewReader(*manifest, size + 1, 1).status().code(),
              absl::StatusCode::kOutOfRange);
    EXPECT_TRUE(pipeline_->Delete(*manifest).empty());
  }
}

// 1 GiB, streamed in and verified as a stream against the regenerated pattern.
TEST_F(PipelineTest, RoundTripsOneGibibyte) {
  MakePipeline(6, PipelineOptions{});
  const uint64_t size = uint64_t{1} << 30, seed = 1234;
  auto manifest = test::WritePattern(*pipeline_, seed, size);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  EXPECT_EQ(manifest->size, size);
  EXPECT_EQ(manifest->stripes.size(), size / kDefaultStripeBytes);
  EXPECT_EQ(ManifestLossesSurvived(*manifest, *pool_), 2);
  ASSERT_TRUE(test::VerifyPattern(*pipeline_, *manifest, seed, 0, size).ok());
  std::mt19937_64 rng(99);
  for (int r = 0; r < 6; ++r) {
    uint64_t off = rng() % size, len = 1 + rng() % std::min<uint64_t>(size - off, 20 << 20);
    absl::Status s = test::VerifyPattern(*pipeline_, *manifest, seed, off, len);
    EXPECT_TRUE(s.ok()) << "[" << off << ", +" << len << "): " << s;
  }
  EXPECT_TRUE(pipeline_->Delete(*manifest).empty());
}

TEST_F(PipelineTest, ReadsSurviveTwoDeadNodesAndFailPromptlyWithThree) {
  std::string data = test::RandomBytes(99, 5 << 20);
  auto manifest = WriteObject(data);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  nodes_[0]->Kill();
  nodes_[3]->Kill();
  ExpectReadsBack(*manifest, data, 20, 5);
  {
    auto reader = pipeline_->NewReader(*manifest, 0, data.size());
    ASSERT_TRUE(reader.ok());
    auto all = (*reader)->ReadAll();
    ASSERT_TRUE(all.ok()) << all.status();
    for (const BadShard& f : (*reader)->faults()) {
      EXPECT_TRUE(f.node_id == "node-0" || f.node_id == "node-3") << f.node_id << f.status;
    }
  }
  // Once the pool knows they are down, they are not even asked.
  pool_->CheckAll();
  EXPECT_EQ(pool_->node(0).health(), NodeHealth::kDown) << "health checks too few";
  pool_->CheckAll();
  pool_->CheckAll();
  EXPECT_EQ(pool_->node(0).health(), NodeHealth::kDown);
  EXPECT_EQ(pool_->node(3).health(), NodeHealth::kDown);
  ExpectReadsBack(*manifest, data, 5, 6);

  nodes_[5]->Kill();
  for (bool pool_knows : {false, true}) {
    SCOPED_TRACE(pool_knows);
    if (pool_knows) {
      for (int i = 0; i < 3; ++i) pool_->CheckAll();
    }
    auto start = Clock::now();
    auto lost = ReadRange(*manifest, 0, data.size());
    EXPECT_EQ(lost.status().code(), absl::StatusCode::kUnavailable) << lost.status();
    EXPECT_LT(Clock::now() - start, std::chrono::seconds(10));
    EXPECT_NE(lost.status().message().find("stripe "), std::string::npos) << lost.status();
  }
}

// Kills nodes `a` and `b` of the pool, then writes: first while the pool still takes them for
// up (the writer retries their shards on the next candidates), then once health checks have
// marked them down (placement skips them). Each object avoids them, survives
// `expected_losses` provider losses and reads back.
void PipelineTest::ExpectWritesAroundDeadNodes(int a, int b, int expected_losses) {
  nodes_[a]->Kill();
  nodes_[b]->Kill();
  for (bool pool_knows : {false, true}) {
    SCOPED_TRACE(pool_knows);
    if (pool_knows) {
      for (int i = 0; i < 3; ++i) pool_->CheckAll();
      ASSERT_EQ(pool_->node(a).health(), NodeHealth::kDown);
      ASSERT_EQ(pool_->node(b).health(), NodeHealth::kDown);
    }
    std::string data = test::RandomBytes(a * 10 + pool_knows, (6 << 20) + 5);
    auto manifest = WriteObject(data);
    ASSERT_TRUE(manifest.ok()) << manifest.status();
    EXPECT_EQ(ManifestLossesSurvived(*manifest, *pool_), expected_losses);
    std::set<std::string> used = NodesOf(*manifest);
    EXPECT_EQ(used.count(pool_->node(a).id()), 0u);
    EXPECT_EQ(used.count(pool_->node(b).id()), 0u);
    for (const auto& s : manifest->stripes) {
      size_t distinct = std::set<std::string>(s.nodes.begin(), s.nodes.end()).size();
      EXPECT_EQ(distinct, expected_losses == 2 ? 6u : 4u);
    }
    ExpectReadsBack(*manifest, data, 5, 3);
  }
}

TEST_F(PipelineTest, WritesWithTwoOfEightDeadKeepTwoProviderLosses) {
  MakePipeline(8, pipeline_->options());
  ExpectWritesAroundDeadNodes(1, 6, 2);
}

// 6 shards on the 4 providers left: two hold 2 shards each, and losing both leaves 2 < k.
TEST_F(PipelineTest, WritesWithTwoOfSixDeadReportReducedSafety) {
  ExpectWritesAroundDeadNodes(2, 4, 1);
}

// `mosaic node add`: a node added while the pipeline is in use gets shards of new stripes;
// indices and placer snapshots taken before stay valid; an id cannot be added twice.
TEST_F(PipelineTest, NodeAddedAtRuntimeGetsShardsOfNewStripes) {
  MakePipeline(5, pipeline_->options());  // 5 providers for 6 shards: one holds two
  std::shared_ptr<const Placer> before = pipeline_->placer();
  ASSERT_EQ(before->nodes().size(), 5u);
  auto added = pipeline_->AddNode(
      test::PipelineEndpoint(nodes_[5]->options().node_id, 5, nodes_[5]->grpc_address()));
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(*added, 5);
  EXPECT_EQ(pool_->size(), 6);
  EXPECT_EQ(pool_->IndexOf(nodes_[5]->options().node_id), 5);
  EXPECT_EQ(pipeline_->placer()->nodes().size(), 6u);
  EXPECT_EQ(before->nodes().size(), 5u);  // the old snapshot is unchanged
  EXPECT_EQ(pipeline_
                ->AddNode(test::PipelineEndpoint(nodes_[5]->options().node_id, 5,
                                                 nodes_[5]->grpc_address()))
                .status()
                .code(),
            absl::StatusCode::kAlreadyExists);

  std::string data = test::RandomBytes(11, (8 << 20) + 5);
  auto manifest = WriteObject(data);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  for (const StripePlacement& stripe : manifest->stripes) {
    std::set<std::string> distinct(stripe.nodes.begin(), stripe.nodes.end());
    EXPECT_EQ(distinct.size(), 6u) << "every stripe on six providers once the sixth is added";
  }
  EXPECT_EQ(ManifestLossesSurvived(*manifest, *pool_), 2);
  auto back = ReadRange(*manifest, 0, data.size());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == data);
}

// Flips bytes in the middle of the payload of every record of `chunk_ids` in the node's
// segment files (docs/formats/segment.md). Returns how many records it changed.
int CorruptRecords(const NodeProcess& node, const std::set<std::string>& chunk_ids) {
  int changed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(node.data_dir() + "/segments")) {
    auto bytes = test::ReadFile(entry.path().string());
    if (!bytes.ok()) continue;
    const std::string& seg = *bytes;
    int fd = ::open(entry.path().c_str(), O_WRONLY);
    if (fd < 0) continue;
    for (size_t at = 0; at + 256 <= seg.size();) {
      uint64_t length = 0;
      std::memcpy(&length, seg.data() + at + 16, 8);
      uint8_t id_len = static_cast<uint8_t>(seg[at + 32]);
      bool record = seg.compare(at, 4, "MSCR") == 0 && length <= (64 << 20) && id_len > 0 &&
                    id_len <= 64 && at + 256 + length <= seg.size();
      if (!record) {
        at += 4096;
        continue;
      }
      if (chunk_ids.count(seg.substr(at + 40, id_len)) > 0 && length >= 16) {
        char flipped[8];
        size_t where = at + 256 + length / 2;
        for (int i = 0; i < 8; ++i) flipped[i] = static_cast<char>(seg[where + i] ^ 0xff);
        if (::pwrite(fd, flipped, 8, static_cast<off_t>(where)) == 8) ++changed;
      }
      at += (256 + length + 4095) / 4096 * 4096;
    }
    ::close(fd);
  }
  return changed;
}

TEST_F(PipelineTest, CorruptShardOnDiskIsReadAroundAndBlamed) {
  std::string data = test::RandomBytes(8, (12 << 20) + 3);
  auto manifest = WriteObject(data);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  // Corrupt everything node-2 holds of this object.
  std::set<std::string> ids;
  int data_shards_there = 0;
  for (uint64_t s = 0; s < manifest->stripes.size(); ++s) {
    for (int i = 0; i < 6; ++i) {
      if (manifest->stripes[s].nodes[i] != "node-2") continue;
      ids.insert(ChunkIdString(ring_->ComputeChunkId(manifest->object_id, s, i)));
      if (i < 4) ++data_shards_there;
    }
  }
  ASSERT_EQ(ids.size(), manifest->stripes.size());
  ASSERT_GT(data_shards_there, 0) << "node-2 holds only parity: choose another node";
  ASSERT_EQ(CorruptRecords(*nodes_[2], ids), static_cast<int>(ids.size()));

  auto reader = pipeline_->NewReader(*manifest, 0, data.size());
  ASSERT_TRUE(reader.ok());
  auto all = (*reader)->ReadAll();
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_TRUE(*all == data);
  std::vector<BadShard> faults = (*reader)->faults();
  EXPECT_FALSE(faults.empty());
  for (const BadShard& f : faults) {
    EXPECT_EQ(f.node_id, "node-2");
    EXPECT_EQ(f.status.code(), absl::StatusCode::kDataLoss) << f.status;
    EXPECT_EQ(manifest->stripes[f.stripe].nodes[f.shard_index], "node-2");
  }
  // The node itself is not taken for down: it answered, with an error.
  EXPECT_NE(pool_->node(2).health(), NodeHealth::kDown);
  ExpectReadsBack(*manifest, data, 10, 8);
}

TEST_F(PipelineTest, DeleteRemovesEveryShard) {
  std::string data = test::RandomBytes(3, 3 << 20);
  auto manifest = WriteObject(data);
  ASSERT_TRUE(manifest.ok());
  EXPECT_TRUE(pipeline_->Delete(*manifest).empty());
  auto gone = ReadRange(*manifest, 0, data.size());
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kUnavailable);
  // Deleting again: shards already gone are not failures.
  EXPECT_TRUE(pipeline_->Delete(*manifest).empty());
}

TEST_F(PipelineTest, DeleteReturnsTheShardsOfADeadNode) {
  std::string data = test::RandomBytes(4, (5 << 20) + 1);
  auto manifest = WriteObject(data);
  ASSERT_TRUE(manifest.ok());
  nodes_[1]->Kill();
  std::vector<BadShard> left = pipeline_->Delete(*manifest);
  // Six providers for six shards: node-1 holds one shard of every stripe.
  ASSERT_EQ(left.size(), manifest->stripes.size());
  std::set<uint64_t> stripes;
  for (const BadShard& b : left) {
    EXPECT_EQ(b.node_id, "node-1");
    EXPECT_EQ(manifest->stripes[b.stripe].nodes[b.shard_index], "node-1");
    EXPECT_FALSE(b.status.ok());
    stripes.insert(b.stripe);
  }
  EXPECT_EQ(stripes.size(), manifest->stripes.size());
  // Every other shard is gone: nothing of the object is left on the live nodes.
  for (int i = 0; i < 6; ++i) {
    if (i == 1) continue;
    auto listed = nodes_[i]->Client().ListAll(1000);
    ASSERT_TRUE(listed.ok());
    for (const auto& c : listed.response) {
      for (uint64_t s = 0; s < manifest->stripes.size(); ++s) {
        for (int j = 0; j < 6; ++j) {
          EXPECT_NE(c.chunk_id(), ChunkIdString(ring_->ComputeChunkId(manifest->object_id, s, j)));
        }
      }
    }
  }
  // Once the node is back, retrying what was returned finishes the job.
  // (It listens on a new port: the pool is rebuilt; manifests name nodes by id.)
  ASSERT_TRUE(nodes_[1]->Restart().ok());
  MakePipeline(6, pipeline_->options());
  EXPECT_TRUE(pipeline_->Delete(*manifest).empty());
}

}  // namespace
}  // namespace mosaic::client

namespace mosaic::client {
namespace {

// Nodes whose tenant quota runs out part-way through an object: shard puts fail with
// RESOURCE_EXHAUSTED, are retried on every other candidate, and once a stripe cannot be
// placed the object fails with UNAVAILABLE naming it, and every shard already written is
// deleted (the nodes hold nothing of it afterwards).
TEST(PipelineWriteFailureTest, FailedWriteIsUnavailableAndLeavesNoShards) {
  std::vector<std::unique_ptr<NodeProcess>> nodes;
  std::vector<NodeEndpoint> endpoints;
  for (int i = 0; i < 6; ++i) {
    test::NodeOptions o;
    o.node_id = "node-" + std::to_string(i);
    o.reserved_free = "1MiB";
    o.tenants = {{"group", test::kPipelineTenantToken, "3MiB"}};
    auto node = NodeProcess::Start(o);
    ASSERT_TRUE(node.ok()) << node.status();
    endpoints.push_back(test::PipelineEndpoint(o.node_id, i, (*node)->grpc_address()));
    nodes.push_back(std::move(*node));
  }
  NodePool pool(endpoints, RpcOptions{});
  auto ring = test::NewKeyRing();
  ASSERT_NE(ring, nullptr);
  Pipeline pipeline(*ring, pool, test::SmallStripeOptions());
  // 6 nodes × 3 MiB hold 18 MiB of shards: a 24 MiB object needs 36 MiB.
  auto start = Clock::now();
  auto manifest = test::WritePattern(pipeline, 5, 24 << 20);
  ASSERT_FALSE(manifest.ok());
  EXPECT_EQ(manifest.status().code(), absl::StatusCode::kUnavailable) << manifest.status();
  EXPECT_NE(manifest.status().message().find("stripe "), std::string::npos) << manifest.status();
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(60));
  for (auto& node : nodes) {
    auto listed = node->Client().ListAll(1000);
    ASSERT_TRUE(listed.ok()) << test::Describe(listed.status);
    EXPECT_TRUE(listed.response.empty())
        << node->options().node_id << " still holds " << listed.response.size() << " chunks";
  }
  // The quota is free again: a smaller object fits.
  auto fits = test::WritePattern(pipeline, 6, 4 << 20);
  ASSERT_TRUE(fits.ok()) << fits.status();
  EXPECT_TRUE(test::VerifyPattern(pipeline, *fits, 6, 0, 4 << 20).ok());
}

}  // namespace
}  // namespace mosaic::client
