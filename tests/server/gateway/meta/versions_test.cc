// Versions in the metadata store (issue 16): a versioned bucket keeps every version's pieces
// referenced, a delete marker hides the key, deleting a version for good frees exactly the
// pieces nothing else names, a suspended bucket replaces its null version, Object Lock
// refuses deletes, and ListVersions pages in (key, newest first) order.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "server/gateway/meta/meta_store.h"
#include "tests/server/gateway/meta/test_store.h"

namespace mosaic::gateway {
namespace {

class VersionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "versions_test.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto s = MetaStore::Open(dir_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    ASSERT_TRUE(store_->CreateBucket("b", v1::BucketRecord()).ok());
    SetVersioning(v1::BucketRecord::ENABLED);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  MetaStore& store() { return *store_; }
  void SetVersioning(v1::BucketRecord::Versioning v) {
    ASSERT_TRUE(gateway::SetVersioning(store(), "b", v).ok());
  }
  static v1::ObjectRecord Piece(const std::string& id) {
    v1::ObjectRecord r;
    r.set_etag("etag-" + id);
    r.set_size(1);
    r.add_parts()->mutable_manifest()->set_object_id(id);
    return r;
  }
  std::string Put(const std::string& key, const v1::ObjectRecord& r) {
    auto id = store().PutObject("b", key, r);
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : "";
  }
  DeletedVersion Delete(const std::string& key, std::optional<std::string> version,
                        bool bypass = false, int64_t now_ms = 0) {
    auto d = store().DeleteVersion("b", key, version, bypass, now_ms);
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? *d : DeletedVersion();
  }
  std::vector<std::string> Queued() {
    auto pending = store().PendingDeletions(1000);
    EXPECT_TRUE(pending.ok());
    std::vector<std::string> ids;
    for (const auto& [seq, record] : *pending) ids.push_back(record.manifest().object_id());
    std::sort(ids.begin(), ids.end());
    return ids;
  }
  // (key, version id, latest, marker) of every version, paging `page` at a time.
  std::vector<std::tuple<std::string, std::string, bool, bool>> All(size_t page) {
    std::vector<std::tuple<std::string, std::string, bool, bool>> out;
    std::string from;
    std::optional<std::string> after;
    for (int guard = 0; guard < 1000; ++guard) {
      auto rows = store().ListVersions("b", "", from, after, page);
      EXPECT_TRUE(rows.ok()) << rows.status();
      for (const auto& e : *rows) {
        std::string id = e.record.version_id().empty() ? "null" : e.record.version_id();
        out.emplace_back(e.key, id, e.latest, e.record.delete_marker());
        from = e.key;
        after = id;
      }
      if (rows->size() < page) break;
    }
    return out;
  }

  std::string dir_;
  std::unique_ptr<MetaStore> store_;
};

using Ids = std::vector<std::string>;

TEST_F(VersionsTest, OverwriteKeepsTheOldVersionAndItsData) {
  std::string v1 = Put("k", Piece("p1"));
  std::string v2 = Put("k", Piece("p2"));
  EXPECT_NE(v1, v2);
  EXPECT_EQ(*store().References("p1"), 1u);
  EXPECT_EQ(Queued(), Ids{});
  auto old = store().GetVersion("b", "k", v1);
  ASSERT_TRUE(old.ok() && old->has_value());
  EXPECT_EQ((*old)->parts(0).manifest().object_id(), "p1");
  EXPECT_EQ((*store().GetObject("b", "k"))->version_id(), v2);
}

TEST_F(VersionsTest, DeleteMarkerHidesTheKeyUntilRemoved) {
  std::string v1 = Put("k", Piece("p1"));
  DeletedVersion marker = Delete("k", std::nullopt);
  EXPECT_TRUE(marker.delete_marker);
  EXPECT_FALSE((*store().GetObject("b", "k")).has_value());
  EXPECT_TRUE((*store().ListObjects("b", "", "", 10)).empty());
  EXPECT_TRUE((*store().GetVersion("b", "k", std::nullopt))->delete_marker());
  EXPECT_EQ(*store().References("p1"), 1u);
  DeletedVersion removed = Delete("k", marker.version_id);
  EXPECT_TRUE(removed.existed && removed.delete_marker);
  EXPECT_EQ((*store().GetObject("b", "k"))->version_id(), v1);
}

TEST_F(VersionsTest, DeletingAVersionFreesOnlyUnsharedPieces) {
  std::string v1 = Put("k", Piece("shared"));
  ASSERT_TRUE(store()
                  .CopyObject("b", "k", "b", "copy",
                              [](const std::optional<v1::ObjectRecord>& s)
                                  -> absl::StatusOr<v1::ObjectRecord> { return *s; })
                  .ok());
  std::string v2 = Put("k", Piece("own"));
  EXPECT_TRUE(Delete("k", v1).existed);
  EXPECT_EQ(Queued(), Ids{});  // the copy still names it
  EXPECT_EQ(*store().References("shared"), 1u);
  EXPECT_TRUE(Delete("k", v2).existed);
  EXPECT_EQ(Queued(), Ids{"own"});
  EXPECT_TRUE((*store().ListVersions("b", "k", "k", std::nullopt, 10)).empty());
}

TEST_F(VersionsTest, SuspendedBucketReplacesTheNullVersion) {
  std::string kept = Put("k", Piece("kept"));
  SetVersioning(v1::BucketRecord::SUSPENDED);
  EXPECT_EQ(Put("k", Piece("n1")), "null");
  EXPECT_EQ(Put("k", Piece("n2")), "null");
  EXPECT_EQ(Queued(), Ids{"n1"});
  auto all = All(10);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0], std::make_tuple(std::string("k"), std::string("null"), true, false));
  EXPECT_EQ(all[1], std::make_tuple(std::string("k"), kept, false, false));
  DeletedVersion marker = Delete("k", std::nullopt);
  EXPECT_EQ(marker.version_id, "null");
  EXPECT_EQ(Queued(), (Ids{"n1", "n2"}));
}

// The null version under newer ones is found through its index row (`V`), two point reads,
// not a scan of the key's versions; the row follows it wherever it goes.
TEST_F(VersionsTest, NullVersionIsIndexedWhileItIsNotCurrent) {
  auto index_rows = [&] {
    size_t n = 0;
    EXPECT_TRUE(store()
                    .VisitSnapshot([&](std::string_view key, std::string_view) {
                      n += key.starts_with("V");
                      return absl::OkStatus();
                    })
                    .ok());
    return n;
  };
  SetVersioning(v1::BucketRecord::SUSPENDED);
  EXPECT_EQ(Put("k", Piece("null")), "null");
  EXPECT_EQ(index_rows(), 0u);  // current: the `o` row
  SetVersioning(v1::BucketRecord::ENABLED);
  std::vector<std::string> newer;
  for (int i = 0; i < 50; ++i) newer.push_back(Put("k", Piece("v" + std::to_string(i))));
  EXPECT_EQ(index_rows(), 1u);
  auto null_version = store().GetVersion("b", "k", "null");
  ASSERT_TRUE(null_version.ok() && null_version->has_value());
  EXPECT_EQ((*null_version)->parts(0).manifest().object_id(), "null");
  // Every newer version deleted: the null version is current again, its index row gone.
  for (const std::string& id : newer) EXPECT_TRUE(Delete("k", id).existed);
  EXPECT_EQ(index_rows(), 0u);
  null_version = store().GetVersion("b", "k", "null");
  ASSERT_TRUE(null_version.ok() && null_version->has_value());
  // Under a newer version again, then deleted by its id: no row and no index left.
  Put("k", Piece("w"));
  EXPECT_EQ(index_rows(), 1u);
  EXPECT_TRUE(Delete("k", std::string("null")).existed);
  EXPECT_EQ(index_rows(), 0u);
  null_version = store().GetVersion("b", "k", "null");
  ASSERT_TRUE(null_version.ok());
  EXPECT_FALSE(null_version->has_value());
}

TEST_F(VersionsTest, ObjectLockRefusesDeletes) {
  v1::ObjectRecord governed = Piece("g");
  governed.set_lock_mode("GOVERNANCE");
  governed.set_retain_until_ms(2000);
  std::string g = Put("g", governed);
  v1::ObjectRecord compliant = Piece("c");
  compliant.set_lock_mode("COMPLIANCE");
  compliant.set_retain_until_ms(2000);
  std::string c = Put("c", compliant);
  v1::ObjectRecord held = Piece("h");
  held.set_legal_hold(true);
  std::string h = Put("h", held);
  for (const auto& [key, id] : {std::pair{"g", g}, {"c", c}, {"h", h}}) {
    auto refused = store().DeleteVersion("b", key, id, false, 1000);
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied) << key;
  }
  EXPECT_EQ(store().DeleteVersion("b", "c", c, true, 1000).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(store().DeleteVersion("b", "h", h, true, 3000).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(Delete("g", g, /*bypass=*/true, 1000).existed);
  EXPECT_TRUE(Delete("c", c, false, 3000).existed);  // expired
  // A delete marker over a locked version is allowed: the version stays.
  EXPECT_TRUE(Delete("h", std::nullopt).delete_marker);
  EXPECT_EQ(*store().References("h"), 1u);
}

TEST_F(VersionsTest, ListVersionsPagesInKeyThenNewestOrder) {
  std::vector<std::tuple<std::string, std::string, bool, bool>> expected;
  for (const std::string key : {"a", "a/b", "c"}) {
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) ids.push_back(Put(key, Piece(key + std::to_string(i))));
    bool marker = key == "a/b";
    if (marker) ids.push_back(Delete(key, std::nullopt).version_id);
    for (size_t i = ids.size(); i-- > 0;) {
      expected.emplace_back(key, ids[i], i + 1 == ids.size(), marker && i + 1 == ids.size());
    }
  }
  for (size_t page : {1, 2, 3, 100}) EXPECT_EQ(All(page), expected) << page;
  auto prefixed = store().ListVersions("b", "a/", "", std::nullopt, 100);
  ASSERT_TRUE(prefixed.ok());
  EXPECT_EQ(prefixed->size(), 4u);
}

}  // namespace
}  // namespace mosaic::gateway
