// Copying every table from RocksDB into PostgreSQL (meta/meta_copy.h): what `mosaic meta
// migrate` does. The source is a RocksDB store in a temporary folder, the destination a
// database of its own on the test process's PostgreSQL (test_store.h).
#include "server/gateway/meta/meta_copy.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "server/gateway/meta/meta_store.h"
#include "tests/server/gateway/meta/test_store.h"

namespace mosaic::gateway::meta {
namespace {

class MetaCopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "meta_copy_test.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto rocks = MetaStore::Open(dir_ + "/rocks");
    ASSERT_TRUE(rocks.ok()) << rocks.status();
    rocks_ = std::move(*rocks);
    MetadataConfig config;
    config.backend = MetadataConfig::Backend::kPostgres;
    auto dsn = TestDatabase(dir_ + "/pg");
    ASSERT_TRUE(dsn.ok()) << dsn.status();
    config.postgres.dsn = *dsn;
    auto pg = MetaStore::Open(config, dir_);
    ASSERT_TRUE(pg.ok()) << pg.status();
    pg_ = std::move(*pg);
  }
  void TearDown() override {
    rocks_.reset();
    pg_.reset();
    std::filesystem::remove_all(dir_);
  }
  static v1::ObjectRecord Record(const std::string& piece, uint64_t size) {
    v1::ObjectRecord r;
    r.set_etag("etag-" + piece);
    r.set_size(size);
    r.add_parts()->mutable_manifest()->set_object_id(piece);
    return r;
  }
  // A bucket of plain objects, a versioned one with two versions and a delete marker, an
  // upload in progress with a part, an access key.
  void Fill() {
    ASSERT_TRUE(rocks_->CreateBucket("plain", v1::BucketRecord()).ok());
    for (int i = 0; i < 1200; ++i) {  // more than two copy batches
      ASSERT_TRUE(
          rocks_->PutObject("plain", "k" + std::to_string(i), Record("p" + std::to_string(i), i))
              .ok());
    }
    ASSERT_TRUE(rocks_->CreateBucket("kept", v1::BucketRecord()).ok());
    ASSERT_TRUE(rocks_
                    ->UpdateBucket("kept",
                                   [](v1::BucketRecord& r) {
                                     r.set_versioning(v1::BucketRecord::ENABLED);
                                     return absl::OkStatus();
                                   })
                    .ok());
    ASSERT_TRUE(rocks_->PutObject("kept", "doc", Record("v1", 1)).ok());
    ASSERT_TRUE(rocks_->PutObject("kept", "doc", Record("v2", 2)).ok());
    ASSERT_TRUE(rocks_->DeleteObject("kept", "gone").ok());
    v1::UploadRecord upload;
    upload.set_upload_id("up-1");
    ASSERT_TRUE(rocks_->CreateUpload("plain", "multi", upload).ok());
    v1::ObjectPart part;
    part.set_number(1);
    part.mutable_manifest()->set_object_id("part-1");
    ASSERT_TRUE(rocks_->PutPart("plain", "multi", "up-1", part).ok());
    v1::AccessKeyRecord key;
    key.set_id("AKIDCOPY");
    ASSERT_TRUE(rocks_->PutKey(key).ok());
  }

  std::string dir_;
  std::unique_ptr<MetaStore> rocks_, pg_;
};

TEST_F(MetaCopyTest, EveryTableArrivesAndIsVerified) {
  Fill();
  auto copied = CopyAllRows(*rocks_, *pg_);
  ASSERT_TRUE(copied.ok()) << copied.status();
  auto source = TallyRows(*rocks_);
  auto dest = TallyRows(*pg_);
  ASSERT_TRUE(source.ok() && dest.ok());
  EXPECT_EQ(*copied, *source);
  EXPECT_EQ(*dest, *source);
  for (const char* table : {"a", "b", "m", "o", "p", "u", "v"}) {
    EXPECT_TRUE(source->contains(table)) << table;
  }
  EXPECT_EQ((*source)["o"].rows, 1201u);  // 1200 + kept/doc's current version
  // Read back through the destination's tables, not only its raw rows.
  auto listed = pg_->ListObjects("plain", "k1", "", 2000);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 1 + 10 + 100 + 200u);  // k1, k10-19, k100-199, k1000-1199
  auto doc = pg_->GetObject("kept", "doc");
  ASSERT_TRUE(doc.ok() && doc->has_value());
  EXPECT_EQ((*doc)->etag(), "etag-v2");
  auto versions = pg_->ListVersions("kept", "", "", std::nullopt, 10);
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(versions->size(), 3u);  // doc twice, the marker of gone
  auto parts = pg_->ListParts("up-1", 0, 10);
  ASSERT_TRUE(parts.ok());
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0].manifest().object_id(), "part-1");
  auto keys = pg_->ListKeys();
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->size(), 1u);
}

TEST_F(MetaCopyTest, RefusesADestinationThatHoldsRows) {
  Fill();
  ASSERT_TRUE(pg_->CreateBucket("already", v1::BucketRecord()).ok());
  auto before = TallyRows(*pg_);
  auto copied = CopyAllRows(*rocks_, *pg_);
  EXPECT_EQ(copied.status().code(), absl::StatusCode::kFailedPrecondition) << copied.status();
  auto after = TallyRows(*pg_);
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_EQ(*after, *before);  // nothing written
  EXPECT_FALSE(*pg_->Empty());
}

TEST_F(MetaCopyTest, EmptyStoresAreEmpty) {
  EXPECT_TRUE(*rocks_->Empty());
  EXPECT_TRUE(*pg_->Empty());
  ASSERT_TRUE(rocks_->CreateBucket("b", v1::BucketRecord()).ok());
  EXPECT_FALSE(*rocks_->Empty());
}

TEST(TableOfTest, NamesTheKeyPrefix) {
  EXPECT_EQ(TableOf(std::string("obucket\0key", 11)), "o");
  EXPECT_EQ(TableOf("~lease/repair"), "~lease/");
  EXPECT_EQ(TableOf("~lifecycle"), "~lifecycle");
  EXPECT_EQ(TableOf("B"), "B");
}

}  // namespace
}  // namespace mosaic::gateway::meta
