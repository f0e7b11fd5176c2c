// The metadata's transactions under concurrency (issues 14, 17): racing writers on one store
// from several threads keep every rule that the single write mutex used to keep —
// conditional writes, reference counts, deletion queueing, MoveShard's compare-and-set —
// and a data folder written by plain RocksDB in the key layout of before opens unchanged.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/bytes.h"
#include "server/gateway/meta/meta_store.h"
#include "tests/server/gateway/meta/store_fixture.h"

namespace mosaic::gateway {
namespace {

constexpr int kThreads = 8;

class RacingWritersTest : public StoreFixture {
 protected:
  // An object of one new piece `id` with one stripe on nodes n0..n5.
  static v1::ObjectRecord Object(const std::string& id) {
    v1::ObjectRecord r;
    r.set_etag("etag-" + id);
    r.set_size(1);
    v1::ObjectPart* part = r.add_parts();
    part->mutable_manifest()->set_object_id(id);
    part->mutable_manifest()->set_size(1);
    v1::StripePlacement* stripe = part->mutable_manifest()->add_stripes();
    for (int i = 0; i < 6; ++i) stripe->add_nodes("n" + std::to_string(i));
    return r;
  }
  // Runs `body(thread)` on kThreads threads at once.
  static void Race(const std::function<void(int)>& body) {
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        ++ready;
        while (ready.load() < kThreads) std::this_thread::yield();
        body(i);
      });
    }
    for (auto& t : threads) t.join();
  }
};

TEST_F(RacingWritersTest, OfRacingIfNoneMatchWritersExactlyOneWins) {
  OpenStore();
  ASSERT_TRUE(store().CreateBucket("b", v1::BucketRecord()).ok());
  for (int round = 0; round < 5; ++round) {
    std::string key = "k" + std::to_string(round);
    std::atomic<int> won{0}, refused{0};
    Race([&](int i) {
      auto if_none_match = [](const std::optional<v1::ObjectRecord>& current) {
        return current ? absl::FailedPreconditionError("PreconditionFailed") : absl::OkStatus();
      };
      absl::Status s =
          store()
              .PutObject("b", key, Object(key + "-" + std::to_string(i)), if_none_match)
              .status();
      if (s.ok()) ++won;
      if (s.code() == absl::StatusCode::kFailedPrecondition) ++refused;
    });
    EXPECT_EQ(won.load(), 1) << key;
    EXPECT_EQ(refused.load(), kThreads - 1) << key;
    // The losers' pieces were never referenced: none is stored, none queued.
    auto pending = store().PendingDeletions(100);
    ASSERT_TRUE(pending.ok());
    EXPECT_TRUE(pending->empty());
  }
}

TEST_F(RacingWritersTest, SharedPiecesAreCountedExactlyUnderRacingOverwritesCopiesDeletes) {
  OpenStore();
  ASSERT_TRUE(store().CreateBucket("b", v1::BucketRecord()).ok());
  constexpr int kKeys = 4;
  constexpr int kOps = 40;
  std::vector<std::vector<std::string>> created(kThreads);
  Race([&](int thread) {
    std::mt19937 rng(static_cast<unsigned>(thread) * 7919u + 1u);
    for (int op = 0; op < kOps; ++op) {
      std::string key = "k" + std::to_string(rng() % kKeys);
      switch (rng() % 3) {
        case 0: {
          std::string id = "t" + std::to_string(thread) + "-" + std::to_string(op);
          created[size_t(thread)].push_back(id);
          EXPECT_TRUE(store().PutObject("b", key, Object(id)).ok());
          break;
        }
        case 1: {
          std::string from = "k" + std::to_string(rng() % kKeys);
          absl::Status s = store()
                               .CopyObject("b", from, "b", key,
                                           [](const std::optional<v1::ObjectRecord>& source)
                                               -> absl::StatusOr<v1::ObjectRecord> {
                                             if (!source) return absl::NotFoundError("NoSuchKey");
                                             return *source;
                                           })
                               .status();
          EXPECT_TRUE(s.ok() || absl::IsNotFound(s)) << s;
          break;
        }
        default:
          EXPECT_TRUE(store().DeleteObject("b", key).ok());
      }
    }
  });
  // Every piece's count is the number of objects naming it.
  std::map<std::string, uint64_t> named;
  auto objects = store().ListObjects("b", "", "", 100);
  ASSERT_TRUE(objects.ok());
  for (const auto& e : *objects) {
    for (const auto& part : e.record.parts()) ++named[part.piece_id()];
  }
  auto stored = store().ListPieces("", 10000);
  ASSERT_TRUE(stored.ok());
  std::map<std::string, uint64_t> counted;
  for (const auto& [id, piece] : *stored) counted[id] = piece.references();
  EXPECT_EQ(counted, named);
  // Every other piece ever written is queued for deletion exactly once; none named is.
  std::map<std::string, int> queued;
  auto pending = store().PendingDeletions(100000);
  ASSERT_TRUE(pending.ok());
  for (const auto& [seq, d] : *pending) ++queued[d.manifest().object_id()];
  size_t queued_ids = queued.size();
  size_t all = 0;
  for (const auto& ids : created) {
    for (const auto& id : ids) {
      ++all;
      EXPECT_EQ(queued[id], named.contains(id) ? 0 : 1) << id;
    }
  }
  EXPECT_EQ(queued_ids + named.size(), all);
  EXPECT_EQ(store().DeletionBacklog(), pending->size());
}

TEST_F(RacingWritersTest, OfRacingMoveShardsOnOneShardExactlyOneSucceeds) {
  OpenStore();
  ASSERT_TRUE(store().CreateBucket("b", v1::BucketRecord()).ok());
  ASSERT_TRUE(store().PutObject("b", "k", Object("p")).ok());
  for (int shard = 0; shard < 6; ++shard) {
    std::atomic<int> moved{0}, refused{0};
    std::string from = "n" + std::to_string(shard);
    Race([&](int i) {
      absl::Status s = store().MoveShard("p", 0, shard, from, "new" + std::to_string(i));
      if (s.ok()) ++moved;
      if (s.code() == absl::StatusCode::kFailedPrecondition) ++refused;
    });
    EXPECT_EQ(moved.load(), 1);
    EXPECT_EQ(refused.load(), kThreads - 1);
    auto piece = store().GetPiece("p");
    ASSERT_TRUE(piece.ok() && piece->has_value());
    EXPECT_TRUE((*piece)->manifest().stripes(0).nodes(shard).starts_with("new"));
  }
}

TEST_F(RacingWritersTest, RacingPartsAndCompleteLoseNoPart) {
  OpenStore();
  ASSERT_TRUE(store().CreateBucket("b", v1::BucketRecord()).ok());
  v1::UploadRecord upload;
  upload.set_upload_id("u1");
  ASSERT_TRUE(store().CreateUpload("b", "k", upload).ok());
  std::atomic<int> committed{0}, gone{0};
  Race([&](int i) {
    if (i == 0) {
      auto build =
          [](const v1::UploadRecord&,
             const std::vector<v1::ObjectPart>& parts) -> absl::StatusOr<v1::ObjectRecord> {
        v1::ObjectRecord r;
        for (const auto& part : parts) *r.add_parts() = part;
        return r;
      };
      EXPECT_TRUE(store().CompleteUpload("b", "k", "u1", build).ok());
      return;
    }
    for (uint32_t n = 1; n <= 5; ++n) {
      v1::ObjectPart part;
      part.set_number(uint32_t(i) * 10 + n);
      part.mutable_manifest()->set_object_id("part-" + std::to_string(part.number()));
      absl::Status s = store().PutPart("b", "k", "u1", part);
      if (s.ok()) ++committed;
      if (absl::IsNotFound(s)) ++gone;
    }
  });
  // A part committed before Complete is in the object; one refused after it was never
  // referenced (its writer deletes its data).
  auto object = store().GetObject("b", "k");
  ASSERT_TRUE(object.ok() && object->has_value());
  EXPECT_EQ((*object)->parts_size(), committed.load());
  EXPECT_EQ(committed.load() + gone.load(), (kThreads - 1) * 5);
  for (const auto& part : (*object)->parts()) EXPECT_EQ(*store().References(part.piece_id()), 1u);
}

#ifndef MOSAIC_TEST_POSTGRES  // a RocksDB folder
// A folder written by plain RocksDB (no transactions) in the key layout of before opens,
// reads, and its deletion queue continues after its last entry.
TEST_F(RacingWritersTest, AFolderWrittenBeforeTransactionsOpens) {
  WriteRaw([](const Put& put) {
    v1::BucketRecord bucket;
    bucket.set_created_ms(5);
    put("bold", bucket.SerializeAsString());
    v1::ObjectRecord object = Object("piece-1");
    v1::PieceRecord piece;
    *piece.mutable_manifest() = object.parts(0).manifest();
    piece.set_references(1);
    object.mutable_parts(0)->clear_manifest();
    object.mutable_parts(0)->set_piece_id("piece-1");
    put(std::string("oold\0a/key", 10), object.SerializeAsString());
    put("mpiece-1", piece.SerializeAsString());
    v1::DeletionRecord d;
    d.mutable_manifest()->set_object_id("gone-1");
    std::string dkey = "d";
    AppendBE64(dkey, 41);
    put(dkey, d.SerializeAsString());
  });
  OpenStore();
  auto bucket = store().GetBucket("old");
  ASSERT_TRUE(bucket.ok() && bucket->has_value());
  EXPECT_EQ((*bucket)->created_ms(), 5);
  auto object = store().GetObject("old", "a/key");
  ASSERT_TRUE(object.ok() && object->has_value()) << object.status();
  EXPECT_EQ((*object)->parts(0).manifest().object_id(), "piece-1");
  EXPECT_EQ((*object)->parts(0).manifest().stripes(0).nodes(5), "n5");
  EXPECT_EQ(store().DeletionBacklog(), 1u);
  ASSERT_TRUE(*store().DeleteObject("old", "a/key"));
  auto pending = store().PendingDeletions(10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].first, 41u);
  EXPECT_EQ((*pending)[1].first, 42u);
  EXPECT_EQ((*pending)[1].second.manifest().object_id(), "piece-1");
}
#endif

}  // namespace
}  // namespace mosaic::gateway
