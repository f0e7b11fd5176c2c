// The metadata backup job against in-process node doubles (hostile_cluster.h, 7 providers,
// 4+2): the objects of the backup before the previous one are deleted from the nodes after a
// new snapshot, and a shard of the current backup on a node that is draining or DOWN is
// rebuilt on another node (jobs/backup_repair.h), even when nothing changed, without a new
// snapshot.

#include "server/gateway/jobs/metadata_backup.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "server/gateway/backup/restore.h"
#include "server/gateway/jobs/orphan_sweeper.h"
#include "tests/server/gateway/jobs/hostile_cluster.h"

namespace mosaic::gateway {
namespace {

class MetadataBackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = test::HostileCluster::Start(7);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(*cluster);
    ASSERT_TRUE(cluster_->PutObject("first", 1, 100000).ok());
  }

  v1::BackupState State() {
    auto state = cluster_->meta().GetBackupState();
    EXPECT_TRUE(state.ok() && state->has_value());
    return state.ok() && state->has_value() ? **state : v1::BackupState();
  }

  // The chunks of every object of `root` (snapshot and increments), by node.
  NodeChunks Chunks(const v1::BackupRoot& root) {
    v1::BackupState only;
    *only.mutable_current() = root;
    NodeChunks chunks;
    AddBackupChunks(cluster_->pipeline().ring(), only, chunks);
    return chunks;
  }

  static size_t Count(const NodeChunks& chunks) {
    size_t n = 0;
    for (const auto& [node, ids] : chunks) n += ids.size();
    return n;
  }

  // How many of `chunks` their nodes hold.
  size_t Held(const NodeChunks& chunks) {
    size_t n = 0;
    for (const auto& [node, ids] : chunks) {
      for (const auto& id : ids) n += cluster_->node(node).has_chunk(id) ? 1 : 0;
    }
    return n;
  }

  // Takes the node holding the first shard of the current snapshot out (`lose`), then checks
  // that the next cycle rebuilds the backup's shards on it elsewhere — the same snapshot, no
  // shard on the node, every chunk held, a new root — that the one after changes nothing,
  // and that the metadata restores. Returns the victim.
  std::string ExpectShardsRebuiltAwayFrom(const std::function<void(const std::string&)>& lose) {
    MetadataBackup::Options options;
    options.interval = std::chrono::milliseconds(0);
    MetadataBackup backup(cluster_->meta(), cluster_->pipeline(), registry_, options);
    EXPECT_TRUE(backup.RunOnce().ok());
    v1::BackupRoot first = State().current();
    EXPECT_TRUE(first.has_snapshot());
    EXPECT_TRUE(backup.RunOnce().ok());
    EXPECT_EQ(State().current().generation(), first.generation()) << "nothing changed";

    std::string victim = first.snapshot().manifest().stripes(0).nodes(0);
    lose(victim);
    EXPECT_TRUE(backup.RunOnce().ok()) << backup.progress().last_error;
    v1::BackupState state = State();
    EXPECT_EQ(state.current().generation(), first.generation() + 1);
    EXPECT_EQ(state.current().snapshot().manifest().object_id(),
              first.snapshot().manifest().object_id())
        << "a new snapshot instead of a repair";
    for (const auto& stripe : state.current().snapshot().manifest().stripes()) {
      for (const auto& node : stripe.nodes()) EXPECT_NE(node, victim);
    }
    NodeChunks chunks = Chunks(state.current());
    EXPECT_GT(Count(chunks), 0u);
    EXPECT_EQ(Held(chunks), Count(chunks));

    // The backup is clear of the node: nothing more to do while nothing changes.
    EXPECT_TRUE(backup.RunOnce().ok());
    EXPECT_EQ(State().current().generation(), first.generation() + 1);
    auto report = RestoreMetadata(cluster_->pipeline(), cluster_->dir() + "/restored",
                                  [](const std::string&) {});
    EXPECT_TRUE(report.ok()) << report.status();
    if (report.ok()) {
      EXPECT_EQ(report->objects, 1u);
    }
    return victim;
  }

  metrics::Registry registry_;
  std::unique_ptr<test::HostileCluster> cluster_;
};

TEST_F(MetadataBackupTest, BackupBeforeThePreviousIsDeletedFromTheNodes) {
  MetadataBackup::Options options;
  options.interval = std::chrono::milliseconds(0);
  options.max_increments = 0;  // a snapshot every cycle
  std::vector<v1::BackupRoot> roots;
  {
    MetadataBackup backup(cluster_->meta(), cluster_->pipeline(), registry_, options);
    for (int i = 0; i < 3; ++i) {
      if (i > 0) {
        ASSERT_TRUE(cluster_->PutObject("more-" + std::to_string(i), 2 + i, 5000).ok());
      }
      ASSERT_TRUE(backup.RunOnce().ok()) << backup.progress().last_error;
      roots.push_back(State().current());
    }
  }
  ASSERT_EQ(roots[0].generation() + 2, roots[2].generation());
  EXPECT_EQ(State().previous().generation(), roots[1].generation());
  NodeChunks pruned = Chunks(roots[0]);
  NodeChunks previous = Chunks(roots[1]);
  NodeChunks current = Chunks(roots[2]);
  ASSERT_GT(Count(pruned), 0u);
  EXPECT_EQ(Held(pruned), 0u) << "the backup before the previous one is still on the nodes";
  EXPECT_EQ(Held(previous), Count(previous));
  EXPECT_EQ(Held(current), Count(current));

  auto report = RestoreMetadata(cluster_->pipeline(), cluster_->dir() + "/restored",
                                [](const std::string&) {});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->generation, roots[2].generation());
  EXPECT_EQ(report->objects, 3u);
  EXPECT_TRUE(report->backup_faults.empty());
}

TEST_F(MetadataBackupTest, BackupShardOnADrainingNodeIsRebuiltElsewhereAndDeletedThere) {
  v1::BackupRoot before;
  std::string victim = ExpectShardsRebuiltAwayFrom([&](const std::string& node) {
    before = State().current();
    cluster_->pipeline().SetExcluded({node});
  });
  // The draining node still answers: its copies are deleted (without waiting: poll).
  NodeChunks old = Chunks(before);
  ASSERT_GT(old[victim].size(), 0u);
  NodeChunks on_victim;
  on_victim[victim] = old[victim];
  for (int i = 0; i < 200 && Held(on_victim) > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(Held(on_victim), 0u) << "the draining node still holds the backup's shards";
}

TEST_F(MetadataBackupTest, BackupShardOnADownNodeIsRebuiltElsewhere) {
  ExpectShardsRebuiltAwayFrom([this](const std::string& node) {
    client::NodePool& pool = cluster_->pipeline().pool();
    int i = pool.IndexOf(node);
    ASSERT_GE(i, 0);
    for (int n = 0; n < 20 && pool.node(i).health() != client::NodeHealth::kDown; ++n) {
      pool.node(i).Record(absl::UnavailableError("test: the node is gone"));
    }
    ASSERT_EQ(pool.node(i).health(), client::NodeHealth::kDown);
    ASSERT_FALSE(cluster_->pipeline().Readable(i));
  });
}

// Issue 20: the gateway's settings are sealed into every root, as read at each cycle; a
// change of settings alone writes a new root (same backup objects), which a restore returns.
TEST_F(MetadataBackupTest, SettingsAreInTheRootAndAChangeWritesANewRoot) {
  v1::GatewaySettings settings;
  settings.set_config_toml("listen = \"127.0.0.1:1\"\n");
  (*settings.mutable_files())["/c/s3.crt"] = "certificate one";
  MetadataBackup::Options options;
  options.interval = std::chrono::milliseconds(0);
  options.settings = [&settings]() -> absl::StatusOr<v1::GatewaySettings> { return settings; };
  MetadataBackup backup(cluster_->meta(), cluster_->pipeline(), registry_, options);
  ASSERT_TRUE(backup.RunOnce().ok()) << backup.progress().last_error;
  v1::BackupRoot first = State().current();
  EXPECT_EQ(first.settings().files().at("/c/s3.crt"), "certificate one");
  ASSERT_TRUE(backup.RunOnce().ok());
  EXPECT_EQ(State().current().generation(), first.generation()) << "nothing changed";

  (*settings.mutable_files())["/c/s3.crt"] = "certificate two";
  ASSERT_TRUE(backup.RunOnce().ok()) << backup.progress().last_error;
  v1::BackupRoot second = State().current();
  EXPECT_EQ(second.generation(), first.generation() + 1);
  EXPECT_EQ(second.settings().files().at("/c/s3.crt"), "certificate two");
  EXPECT_EQ(second.snapshot().manifest().object_id(), first.snapshot().manifest().object_id());
  EXPECT_EQ(second.increments_size(), first.increments_size());

  // Settings that cannot be read: the last ones are kept, and nothing new is written.
  options.settings = [] { return absl::StatusOr<v1::GatewaySettings>(absl::NotFoundError("x")); };
  MetadataBackup failing(cluster_->meta(), cluster_->pipeline(), registry_, options);
  ASSERT_TRUE(failing.RunOnce().ok());
  EXPECT_EQ(State().current().generation(), second.generation());

  auto report = RestoreMetadata(cluster_->pipeline(), cluster_->dir() + "/restored",
                                [](const std::string&) {});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->settings.config_toml(), settings.config_toml());
  EXPECT_EQ(report->settings.files().at("/c/s3.crt"), "certificate two");
}

}  // namespace
}  // namespace mosaic::gateway
