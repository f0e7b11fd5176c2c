// The lifecycle job (issue 16) on a real metadata store: noncurrent versions expire keeping
// the newer ones, current objects expire to a delete marker, old uploads are aborted, locked
// versions stay, and a pass interrupted between steps resumes from the cursor row.

#include "server/gateway/jobs/lifecycle.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/clock.h"
#include "server/gateway/jobs/lifecycle_decision.h"
#include "server/gateway/s3/lifecycle_rules.h"

namespace mosaic::gateway {
namespace {

constexpr int64_t kDayMs = 24 * 3600 * 1000LL;
constexpr auto kDay = std::chrono::hours(24);
constexpr int kManyKeys = 250;  // more than one step's batch of rows

class LifecycleJobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "lifecycle_test.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto s = MetaStore::Open(dir_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    v1::BucketRecord b;
    b.set_versioning(v1::BucketRecord::ENABLED);
    b.set_object_lock(true);
    ASSERT_TRUE(store_->CreateBucket("b", b).ok());
    auto rules = ParseLifecycle(
        "<LifecycleConfiguration><Rule><ID>logs</ID><Status>Enabled</Status>"
        "<Filter><Prefix>logs/</Prefix></Filter><NoncurrentVersionExpiration>"
        "<NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>1</NewerNoncurrentVersions>"
        "</NoncurrentVersionExpiration></Rule><Rule><ID>tmp</ID><Status>Enabled</Status>"
        "<Filter><Prefix>tmp/</Prefix></Filter><Expiration><Days>1</Days></Expiration>"
        "<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation>"
        "</AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>");
    ASSERT_TRUE(rules.ok()) << rules.status();
    ASSERT_TRUE(store_
                    ->UpdateBucket("b",
                                   [&](v1::BucketRecord& r) {
                                     r.mutable_lifecycle()->Assign(rules->begin(), rules->end());
                                     return absl::OkStatus();
                                   })
                    .ok());
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // A version written `days_ago`, optionally under COMPLIANCE for another hour.
  std::string Put(const std::string& key, double days_ago, bool locked = false) {
    v1::ObjectRecord r;
    r.set_etag("e");
    r.set_last_modified_ms(UnixNowMs() - static_cast<int64_t>(days_ago * kDayMs));
    if (locked) {
      r.set_lock_mode("COMPLIANCE");
      r.set_retain_until_ms(UnixNowMs() + 3600 * 1000);
    }
    auto id = store_->PutObject("b", key, r);
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : "";
  }
  std::vector<std::string> Versions(const std::string& key) {
    auto rows = store_->ListVersions("b", key, key, std::nullopt, 1000);
    EXPECT_TRUE(rows.ok()) << rows.status();
    std::vector<std::string> ids;
    for (const auto& e : *rows) {
      if (e.key == key) ids.push_back(e.record.delete_marker() ? "marker" : e.record.version_id());
    }
    return ids;
  }
  // Steps `job` until a pass is over (idle), at most `max_steps`; returns the steps run.
  int RunPass(LifecycleJob& job, int max_steps = 100) {
    for (int i = 1; i <= max_steps; ++i) {
      auto r = job.Step();
      EXPECT_TRUE(r.ok()) << r.status();
      if (!r.ok() || r->state == WorkerState::kIdle) return i;
    }
    ADD_FAILURE() << "no idle step after " << max_steps;
    return max_steps;
  }

  std::string dir_;
  std::unique_ptr<MetaStore> store_;
};

TEST_F(LifecycleJobTest, ExpiresAbortsAndKeepsLockedVersions) {
  std::vector<std::string> a;
  for (int i = 0; i < 4; ++i) a.push_back(Put("logs/a", 10 - i));
  std::vector<std::string> locked = {Put("logs/locked", 10, true), Put("logs/locked", 9, true)};
  Put("tmp/x", 3);
  Put("keep/y", 10);
  Put("keep/y", 9);
  v1::UploadRecord old_upload, new_upload;
  old_upload.set_upload_id("old");
  old_upload.set_initiated_ms(UnixNowMs() - 2 * kDayMs);
  new_upload.set_upload_id("new");
  new_upload.set_initiated_ms(UnixNowMs());
  ASSERT_TRUE(store_->CreateUpload("b", "tmp/old", old_upload).ok());
  ASSERT_TRUE(store_->CreateUpload("b", "tmp/new", new_upload).ok());

  LifecycleJob job(*store_, kDay);
  RunPass(job);
  // The current version and one newer noncurrent one stay; the two older ones went.
  EXPECT_EQ(Versions("logs/a"), (std::vector<std::string>{a[3], a[2]}));
  // Under COMPLIANCE: the noncurrent version the rule takes is kept.
  EXPECT_EQ(Versions("logs/locked"), (std::vector<std::string>{locked[1], locked[0]}));
  EXPECT_EQ(Versions("tmp/x").front(), "marker");
  EXPECT_EQ(Versions("keep/y").size(), 2u);
  auto uploads = store_->ListUploads("b", "", "", "", 10);
  ASSERT_TRUE(uploads.ok());
  ASSERT_EQ(uploads->size(), 1u);
  EXPECT_EQ((*uploads)[0].record.upload_id(), "new");
  v1::LifecycleCursor p = job.progress();
  EXPECT_EQ(p.passes(), 1u);
  EXPECT_EQ(p.versions_deleted(), 2u);
  EXPECT_EQ(p.locked_kept(), 0u);  // locked[0] is the one newer noncurrent version kept
  EXPECT_EQ(p.expired(), 1u);
  EXPECT_EQ(p.uploads_aborted(), 1u);
  EXPECT_NE(job.Detail().find("1 uploads aborted"), std::string::npos) << job.Detail();
}

TEST_F(LifecycleJobTest, LockedNoncurrentVersionIsCountedAndKept) {
  std::string old = Put("logs/l", 10, true);
  Put("logs/l", 5, true);
  Put("logs/l", 4);
  LifecycleJob job(*store_, kDay);
  RunPass(job);
  std::vector<std::string> left = Versions("logs/l");
  ASSERT_EQ(left.size(), 3u);
  EXPECT_EQ(left.back(), old);
  EXPECT_EQ(job.progress().locked_kept(), 1u);
  EXPECT_EQ(job.progress().versions_deleted(), 0u);
}

TEST_F(LifecycleJobTest, AnInterruptedPassResumesFromTheCursorRow) {
  for (int i = 0; i < kManyKeys; ++i) {
    std::string key = "logs/" + std::to_string(1000 + i);
    Put(key, 10);
    Put(key, 9);
    Put(key, 8);
  }
  {
    LifecycleJob first(*store_, kDay);
    auto r = first.Step();  // one batch, then the gateway "restarts"
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->state, WorkerState::kThrottled);
  }
  auto cursor = store_->GetLifecycleCursor();
  ASSERT_TRUE(cursor.ok() && cursor->has_value());
  EXPECT_EQ((*cursor)->bucket(), "b");
  EXPECT_FALSE((*cursor)->next_key().empty());
  uint64_t keys_before = (*cursor)->keys();
  EXPECT_GT(keys_before, 0u);
  EXPECT_LT(keys_before, static_cast<uint64_t>(kManyKeys));

  LifecycleJob second(*store_, kDay);
  RunPass(second);
  v1::LifecycleCursor p = second.progress();
  EXPECT_EQ(p.passes(), 1u);
  EXPECT_EQ(p.keys(), static_cast<uint64_t>(kManyKeys));  // each key once over both jobs
  EXPECT_EQ(p.versions_deleted(), static_cast<uint64_t>(kManyKeys));
  EXPECT_TRUE(p.bucket().empty());
  for (int i = 0; i < kManyKeys; i += 50) {
    EXPECT_EQ(Versions("logs/" + std::to_string(1000 + i)).size(), 2u) << i;
  }
}

}  // namespace
}  // namespace mosaic::gateway
