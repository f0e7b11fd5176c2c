// Reads that hydrate only the pieces they need (issue 14): HEAD reads the object's row alone
// (GetObject without manifests), and ListParts reads the pieces of the parts after its
// marker only. Shown on a folder whose piece rows are missing for the parts that must not be
// read (written with plain RocksDB in the store's key layout): reading them would fail.

#include <gtest/gtest.h>

#include <string>

#include "server/gateway/meta/meta_store.h"
#include "tests/server/gateway/meta/store_fixture.h"

namespace mosaic::gateway {
namespace {

std::string PartKey(uint32_t number) {
  std::string k("pu1\0", 4);
  for (int shift = 24; shift >= 0; shift -= 8) k.push_back(static_cast<char>(number >> shift));
  return k;
}

class HydrationTest : public StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    WriteRaw([](const Put& raw) {
      auto put = [&](const std::string& k, const google::protobuf::Message& m) {
        raw(k, m.SerializeAsString());
      };
      put("bb", v1::BucketRecord());
      v1::UploadRecord upload;
      upload.set_upload_id("u1");
      put(std::string("ub\0k\0u1", 7), upload);
      v1::ObjectRecord object;
      object.set_etag("e");
      for (uint32_t n = 1; n <= 3; ++n) {
        v1::ObjectPart part;
        part.set_number(n);
        // Piece "missing" has no row; only "there" has.
        part.set_piece_id(n == 3 ? "there" : "missing");
        put(PartKey(n), part);
        *object.add_parts() = part;
      }
      put(std::string("ob\0k", 4), object);
      v1::PieceRecord piece;
      piece.mutable_manifest()->set_object_id("there");
      piece.set_references(2);
      put("mthere", piece);
    });
    OpenStore();
  }
};

TEST_F(HydrationTest, HeadReadsTheObjectRowOnly) {
  auto bare = store().GetObject("b", "k", MetaStore::Hydration::kNone);
  ASSERT_TRUE(bare.ok()) << bare.status();
  ASSERT_TRUE(bare->has_value());
  EXPECT_EQ((*bare)->etag(), "e");
  ASSERT_EQ((*bare)->parts_size(), 3);
  EXPECT_EQ((*bare)->parts(2).piece_id(), "there");
  EXPECT_FALSE((*bare)->parts(2).has_manifest());
  // With manifests every piece is read: the missing ones are an error.
  EXPECT_EQ(store().GetObject("b", "k").status().code(), absl::StatusCode::kDataLoss);
}

// A ranged GET hydrates the parts it reads only (MetaStore::PartRange): part 3's piece is
// read, the missing pieces of parts 1 and 2 are not.
TEST_F(HydrationTest, GetHydratesTheChosenPartsOnly) {
  int calls = 0;
  auto chosen = store().GetObject("b", "k", MetaStore::Hydration::kManifests,
                                  [&](const v1::ObjectRecord& stored) {
                                    ++calls;
                                    EXPECT_EQ(stored.parts_size(), 3);
                                    EXPECT_FALSE(stored.parts(2).has_manifest());
                                    return std::pair<int, int>(2, 3);
                                  });
  ASSERT_TRUE(chosen.ok()) << chosen.status();
  EXPECT_EQ(calls, 1);
  ASSERT_TRUE(chosen->has_value());
  EXPECT_FALSE((*chosen)->parts(0).has_manifest());
  EXPECT_FALSE((*chosen)->parts(1).has_manifest());
  EXPECT_EQ((*chosen)->parts(2).manifest().object_id(), "there");
  auto by_version = store().GetVersion("b", "k", std::nullopt, MetaStore::Hydration::kManifests,
                                       [](const v1::ObjectRecord&) { return std::pair(2, 3); });
  ASSERT_TRUE(by_version.ok()) << by_version.status();
  EXPECT_EQ((*by_version)->parts(2).manifest().object_id(), "there");
  // A range past the parts is clamped; one over a missing piece fails as before.
  EXPECT_TRUE(store()
                  .GetObject("b", "k", MetaStore::Hydration::kManifests,
                             [](const v1::ObjectRecord&) { return std::pair(2, 9); })
                  .ok());
  EXPECT_EQ(store()
                .GetObject("b", "k", MetaStore::Hydration::kManifests,
                           [](const v1::ObjectRecord&) { return std::pair(1, 3); })
                .status()
                .code(),
            absl::StatusCode::kDataLoss);
}

TEST_F(HydrationTest, ListPartsReadsThePiecesAfterItsMarkerOnly) {
  auto after = store().ListParts("u1", 2, 10);
  ASSERT_TRUE(after.ok()) << after.status();
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].number(), 3u);
  EXPECT_EQ((*after)[0].manifest().object_id(), "there");
  EXPECT_EQ(store().ListParts("u1", 0, 10).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace mosaic::gateway
