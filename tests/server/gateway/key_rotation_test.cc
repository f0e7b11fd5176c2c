// Master-key rotation (key_rotation.h) against in-process node doubles (hostile_cluster.h,
// 6 providers, 4+2): a rotation stopped after its first committed batch (as a kill there would
// leave it) refuses both keys, is finished by running it again, and then every object reads
// with the new key, the access key's secret opens with it, the old key is refused, and
// `mosaic restore` with the new key rebuilds everything from the nodes while the old key
// finds no backup (issue 19).

#include "server/gateway/key_rotation.h"

#include <gtest/gtest.h>

#include "client/crypto/metadata_seal.h"
#include "server/gateway/backup/restore.h"
#include "server/gateway/jobs/metadata_backup.h"
#include "server/gateway/meta/manifest_codec.h"
#include "tests/server/gateway/jobs/hostile_cluster.h"

namespace mosaic::gateway {
namespace {

constexpr int kObjects = 5;
constexpr uint64_t kSize = 300000;

class KeyRotationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = test::HostileCluster::Start(6);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(*cluster);
    for (int i = 0; i < kObjects; ++i) {
      ASSERT_TRUE(cluster_->PutObject("o" + std::to_string(i), 100 + i, kSize).ok());
    }
    v1::AccessKeyRecord key;
    key.set_id("MKTEST");
    key.set_sealed_secret(client::SealMetadata(cluster_->ring(), "the-secret", "MKTEST"));
    ASSERT_TRUE(cluster_->meta().PutKey(key).ok());
    ASSERT_TRUE(ApplyKeyState(cluster_->meta(), cluster_->ring()).ok());
    metrics::Registry registry;
    MetadataBackup backup(cluster_->meta(), cluster_->pipeline(), registry,
                          MetadataBackup::Options{.interval = std::chrono::milliseconds(0)});
    ASSERT_TRUE(backup.RunOnce().ok());
    new_ring_ = mosaic::test::NewKeyRing();
  }

  absl::StatusOr<RotationReport> Rotate(client::KeyRing& new_ring, int stop_after_batches) {
    client::KeyRing old_ring = cluster_->ring().Clone();
    int batches = 0;
    return RotateMasterKey(
        cluster_->meta(), old_ring, new_ring, cluster_->endpoints(), cluster_->pipeline().options(),
        [&](const std::string& line) {
          if (line.rfind("data keys:", 0) == 0) ++batches;
          return stop_after_batches == 0 || batches < stop_after_batches;
        },
        RotationOptions{.batch = 2});
  }

  // Reads every object of `meta` through a pipeline over `ring` and checks its bytes.
  void ExpectObjectsRead(const MetaStore& meta, const client::KeyRing& ring) {
    client::Pipeline pipeline(ring, cluster_->pipeline().pool(), cluster_->pipeline().options());
    for (int i = 0; i < kObjects; ++i) {
      auto record = meta.GetObject("b", "o" + std::to_string(i));
      ASSERT_TRUE(record.ok() && record->has_value()) << record.status();
      auto manifest = FromProto((*record)->parts(0).manifest());
      ASSERT_TRUE(manifest.ok()) << manifest.status();
      EXPECT_TRUE(mosaic::test::VerifyPattern(pipeline, *manifest, 100 + i, 0, kSize).ok())
          << "object " << i;
    }
  }

  std::unique_ptr<test::HostileCluster> cluster_;
  std::unique_ptr<client::KeyRing> new_ring_;
};

TEST_F(KeyRotationTest, StoppedRotationResumesAndOnlyTheNewKeyWorksAfter) {
  client::KeyRing first_try = new_ring_->Clone();
  auto stopped = Rotate(first_try, 1);
  ASSERT_EQ(stopped.status().code(), absl::StatusCode::kAborted) << stopped.status();
  // Half-rotated: the gateway starts with neither key.
  client::KeyRing old_ring = cluster_->ring().Clone();
  client::KeyRing new_ring = new_ring_->Clone();
  absl::Status with_old = ApplyKeyState(cluster_->meta(), old_ring);
  EXPECT_EQ(with_old.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(with_old.message().find("unfinished"), std::string::npos) << with_old;
  EXPECT_EQ(ApplyKeyState(cluster_->meta(), new_ring).code(),
            absl::StatusCode::kFailedPrecondition);

  client::KeyRing second_try = new_ring_->Clone();
  auto resumed = Rotate(second_try, 0);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_TRUE(resumed->resumed);
  EXPECT_EQ(resumed->pieces_rewrapped, uint64_t(kObjects - 2)) << "the first batch was done";
  EXPECT_EQ(resumed->access_keys, 1u);
  EXPECT_TRUE(resumed->root_failures.empty());

  // The gateway's start: the new key is accepted (and inherits the chunk-id key), the old one
  // is refused as retired.
  client::KeyRing gateway_ring = new_ring_->Clone();
  ASSERT_TRUE(ApplyKeyState(cluster_->meta(), gateway_ring).ok());
  EXPECT_TRUE(gateway_ring.inherits_chunk_id_key());
  client::KeyRing retired = cluster_->ring().Clone();
  absl::Status refused = ApplyKeyState(cluster_->meta(), retired);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.message().find("retired"), std::string::npos) << refused;
  ExpectObjectsRead(cluster_->meta(), gateway_ring);
  auto key = cluster_->meta().GetKey("MKTEST");
  ASSERT_TRUE(key.ok() && key->has_value());
  auto secret = client::OpenMetadata(gateway_ring, (*key)->sealed_secret(), "MKTEST");
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(*secret, "the-secret");
  EXPECT_FALSE(client::OpenMetadata(cluster_->ring(), (*key)->sealed_secret(), "MKTEST").ok());

  // Running it again changes nothing.
  client::KeyRing third_try = new_ring_->Clone();
  auto again = Rotate(third_try, 0);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->already_done);
}

TEST_F(KeyRotationTest, RestoreWithTheNewKeyRebuildsEverythingAndTheOldKeyFindsNothing) {
  client::KeyRing rotating = new_ring_->Clone();
  ASSERT_TRUE(Rotate(rotating, 0).ok());

  client::KeyRing restore_ring = new_ring_->Clone();  // the key file alone
  client::Pipeline pipeline(restore_ring, cluster_->pipeline().pool(),
                            cluster_->pipeline().options());
  auto report = RestoreMetadata(pipeline, cluster_->dir() + "/restored", [](const std::string&) {});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->objects, uint64_t(kObjects));
  EXPECT_EQ(report->access_keys, 1u);
  EXPECT_EQ(report->shards_missing, 0u);  // (the doubles do not list: none is verified)
  auto restored = MetaStore::Open(cluster_->dir() + "/restored/meta");
  ASSERT_TRUE(restored.ok()) << restored.status();
  client::KeyRing gateway_ring = new_ring_->Clone();
  ASSERT_TRUE(ApplyKeyState(**restored, gateway_ring).ok());
  auto keys = (*restored)->GetKeyState();
  ASSERT_TRUE(keys.ok() && keys->has_value());
  EXPECT_FALSE((*keys)->cleanup_pending()) << "the rotating gateway's clean-up, not this one's";
  ExpectObjectsRead(**restored, gateway_ring);

  client::KeyRing old_ring = cluster_->ring().Clone();
  client::Pipeline old_pipeline(old_ring, cluster_->pipeline().pool(),
                                cluster_->pipeline().options());
  auto old =
      RestoreMetadata(old_pipeline, cluster_->dir() + "/restored-old", [](const std::string&) {});
  EXPECT_EQ(old.status().code(), absl::StatusCode::kNotFound) << old.status();
}

TEST_F(KeyRotationTest, SameKeyIsRefused) {
  client::KeyRing same = cluster_->ring().Clone();
  auto report = Rotate(same, 0);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument) << report.status();
}

}  // namespace
}  // namespace mosaic::gateway
