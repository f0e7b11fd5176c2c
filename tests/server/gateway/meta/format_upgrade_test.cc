// The rows' format upgrade at open (meta/format_upgrade.h), on RocksDB and (in
// gateway_meta_pg_test) PostgreSQL: a null version that an older gateway left non-current
// (its versions-table row without the null-version index row of 242be37) is found by its id
// after the store is opened again, and the upgrade waits while the versions table is empty.

#include "server/gateway/meta/format_upgrade.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "tests/server/gateway/meta/store_fixture.h"

namespace mosaic::gateway {
namespace {

class FormatUpgradeTest : public StoreFixture {
 protected:
  static v1::ObjectRecord Record(const std::string& piece) {
    v1::ObjectRecord r;
    r.set_etag("etag-" + piece);
    r.set_size(1);
    r.add_parts()->mutable_manifest()->set_object_id(piece);
    return r;
  }
  void SetVersioning(v1::BucketRecord::Versioning v) {
    ASSERT_TRUE(gateway::SetVersioning(store(), "b", v).ok());
  }
  // Keys k and other of bucket b, each with its null version under a newer version, as an
  // older gateway left them: the index rows (`V` <bucket> NUL <key>) missing.
  void WriteOlderLayout() {
    ASSERT_TRUE(store().CreateBucket("b", v1::BucketRecord()).ok());
    SetVersioning(v1::BucketRecord::SUSPENDED);
    for (const char* key : {"k", "other"}) {
      ASSERT_TRUE(store().PutObject("b", key, Record(std::string("null-") + key)).ok());
    }
    SetVersioning(v1::BucketRecord::ENABLED);
    ASSERT_TRUE(store().PutObject("b", "k", Record("newer")).ok());
    ASSERT_TRUE(store().PutObject("b", "other", Record("newer-other")).ok());
    ASSERT_TRUE(store()
                    .backend()
                    .Run([](meta::Transaction& t) {
                      RETURN_IF_ERROR(t.Delete(std::string("Vb\0k", 4)));
                      return t.Delete(std::string("Vb\0other", 8));
                    })
                    .ok());
  }
  int Format() {
    auto t = store().backend().Snapshot();
    auto format = meta::RowFormat(*t);
    EXPECT_TRUE(format.ok()) << format.status();
    return format.ok() ? *format : 0;
  }
  // The piece the null version of `key` names, "" when reading it by id finds nothing.
  std::string NullVersionPiece(const std::string& key) {
    auto found = store().GetVersion("b", key, "null");
    EXPECT_TRUE(found.ok()) << found.status();
    if (!found.ok() || !found->has_value()) return "";
    return (*found)->parts(0).manifest().object_id();
  }
};

TEST_F(FormatUpgradeTest, OlderNullVersionIsFoundByIdAfterReopening) {
  OpenStore();
  EXPECT_EQ(Format(), 1);  // nothing to index yet: a restore may still load older rows
  WriteOlderLayout();
  EXPECT_EQ(NullVersionPiece("k"), "");  // what an older store's null version read as
  OpenStore();
  EXPECT_EQ(Format(), meta::kRowFormat);
  EXPECT_EQ(NullVersionPiece("k"), "null-k");
  EXPECT_EQ(NullVersionPiece("other"), "null-other");
  // Idempotent, and the index is the one the versions table keeps: deleting the null
  // version by id removes it.
  OpenStore();
  EXPECT_EQ(NullVersionPiece("k"), "null-k");
  auto deleted = store().DeleteVersion("b", "k", std::string("null"), false, 0);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_TRUE(deleted->existed);
  EXPECT_EQ(NullVersionPiece("k"), "");
  EXPECT_EQ(NullVersionPiece("other"), "null-other");
}

// A restore opens the new store empty, loads the backup's rows, and reopens it: an older
// gateway's backup is upgraded then.
TEST_F(FormatUpgradeTest, OlderRowsRestoredIntoANewStoreAreUpgradedAtItsReopen) {
  OpenStore();
  WriteOlderLayout();
  std::vector<std::pair<std::string, std::string>> rows;
  ASSERT_TRUE(store()
                  .VisitSnapshot([&](std::string_view key, std::string_view value) {
                    rows.emplace_back(key, value);
                    return absl::OkStatus();
                  })
                  .ok());
  store_.reset();
  std::filesystem::remove_all(dir_);
  dir_ += "-restored";
  std::filesystem::create_directories(dir_);
  OpenStore();
  EXPECT_EQ(Format(), 1);
  ASSERT_TRUE(store().PutRaw(rows).ok());
  OpenStore();
  EXPECT_EQ(Format(), meta::kRowFormat);
  EXPECT_EQ(NullVersionPiece("k"), "null-k");
  EXPECT_EQ(NullVersionPiece("other"), "null-other");
}

TEST_F(FormatUpgradeTest, NewerFormatIsRefused) {
  OpenStore();
  ASSERT_TRUE(store().CreateBucket("b", v1::BucketRecord()).ok());
  SetVersioning(v1::BucketRecord::ENABLED);
  ASSERT_TRUE(store().PutObject("b", "k", Record("one")).ok());
  ASSERT_TRUE(store().PutObject("b", "k", Record("two")).ok());
  ASSERT_TRUE(
      store().backend().Run([](meta::Transaction& t) { return t.Put("~format", "99"); }).ok());
  store_.reset();
  auto reopened = OpenTestStore(dir_);
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace mosaic::gateway
