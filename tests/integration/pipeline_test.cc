// The object pipeline against real `mosaic node` processes on loopback: 6 nodes under 6
// provider names, 4+2.

#include <gtest/gtest.h>

#include <random>

#include "client/pipeline/object_reader.h"
#include "client/pipeline/object_writer.h"
#include "client/pipeline/pipeline.h"
#include "tests/support/node_process.h"

namespace mosaic::client {
namespace {

using test::NodeProcess;

class PipelineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (int i = 0; i < 6; ++i) {
      test::NodeOptions o;
      o.node_id = "node-" + std::to_string(i);
      o.reserved_free = "1MiB";
      o.tenants = {{"group", "group-token", ""}};
      auto node = NodeProcess::Start(o);
      ASSERT_TRUE(node.ok()) << node.status();
      nodes_.push_back(std::move(*node));
    }
  }
  static void TearDownTestSuite() { nodes_.clear(); }

  void SetUp() override {
    for (auto& n : nodes_) {
      if (!n->Running()) {
        ASSERT_TRUE(n->Restart().ok());
      }
    }
    std::vector<NodeEndpoint> endpoints;
    for (int i = 0; i < 6; ++i) {
      NodeEndpoint e;
      e.spec = {"node-" + std::to_string(i), "provider-" + std::to_string(i), "", 1.0};
      e.address = nodes_[i]->grpc_address();
      e.token = "group-token";
      e.plaintext = true;
      endpoints.push_back(e);
    }
    RpcOptions rpc;
    rpc.call_timeout = std::chrono::seconds(20);
    pool_ = std::make_unique<NodePool>(endpoints, rpc);
    auto ring = KeyRing::FromMasterKey(SecretBytes::Random(kKeyBytes));
    ASSERT_TRUE(ring.ok());
    ring_ = std::make_unique<KeyRing>(std::move(*ring));
    PipelineOptions options;
    options.stripe_bytes = 1 << 20;
    options.budget_bytes = 16 << 20;
    pipeline_ = std::make_unique<Pipeline>(*ring_, *pool_, options);
  }
  void TearDown() override {
    pipeline_.reset();
    pool_.reset();
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

TEST_F(PipelineTest, ReadsSurviveTwoDeadNodesAndFailPromptlyWithThree) {
  std::string data = test::RandomBytes(99, 5 << 20);
  auto manifest = WriteObject(data);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  nodes_[0]->Kill();
  nodes_[3]->Kill();
  auto degraded = ReadRange(*manifest, 0, data.size());
  ASSERT_TRUE(degraded.ok()) << degraded.status();
  EXPECT_TRUE(*degraded == data);
  nodes_[5]->Kill();
  auto start = std::chrono::steady_clock::now();
  auto lost = ReadRange(*manifest, 0, data.size());
  EXPECT_EQ(lost.status().code(), absl::StatusCode::kUnavailable) << lost.status();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15));
}

TEST_F(PipelineTest, DeleteRemovesEveryShard) {
  std::string data = test::RandomBytes(3, 3 << 20);
  auto manifest = WriteObject(data);
  ASSERT_TRUE(manifest.ok());
  EXPECT_TRUE(pipeline_->Delete(*manifest).empty());
  auto gone = ReadRange(*manifest, 0, data.size());
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace mosaic::client
