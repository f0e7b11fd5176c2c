// Shared pieces: CopyObject makes two records name the same pieces, and a piece's data is
// queued for deletion exactly once, when its last reference goes.

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

class ReferencesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "references_test.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto s = OpenTestStore(dir_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    v1::BucketRecord bucket;
    bucket.set_created_ms(1);
    ASSERT_TRUE(store_->CreateBucket("src", bucket).ok());
    ASSERT_TRUE(store_->CreateBucket("dst", bucket).ok());
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  MetaStore& store() { return *store_; }

  // An object of two pieces, "<name>-1" and "<name>-2" (as a multipart object has).
  static v1::ObjectRecord TwoPieces(const std::string& name) {
    v1::ObjectRecord r;
    r.set_etag("etag-" + name);
    r.set_size(2);
    for (int i = 1; i <= 2; ++i) {
      v1::ObjectPart* piece = r.add_parts();
      piece->set_number(i);
      piece->mutable_manifest()->set_object_id(name + "-" + std::to_string(i));
      piece->mutable_manifest()->set_size(1);
    }
    return r;
  }
  // Copies src/key to bucket/key, sharing the pieces as CopyObject does.
  absl::Status Copy(const std::string& src_key, const std::string& bucket, const std::string& key) {
    return store()
        .CopyObject(
            "src", src_key, bucket, key,
            [](const std::optional<v1::ObjectRecord>& source) -> absl::StatusOr<v1::ObjectRecord> {
              if (!source) return absl::NotFoundError("no source");
              v1::ObjectRecord copy = *source;
              (*copy.mutable_user_metadata())["copied"] = "yes";
              return copy;
            })
        .status();
  }
  uint64_t Refs(const std::string& id) {
    auto n = store().References(id);
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : ~uint64_t{0};
  }
  // The object ids queued for deletion, sorted.
  std::vector<std::string> Queued() {
    auto pending = store().PendingDeletions(1000);
    EXPECT_TRUE(pending.ok()) << pending.status();
    std::vector<std::string> ids;
    if (pending.ok()) {
      for (const auto& [seq, record] : *pending) ids.push_back(record.manifest().object_id());
    }
    std::sort(ids.begin(), ids.end());
    return ids;
  }
  void Delete(const std::string& bucket, const std::string& key) {
    auto deleted = store().DeleteObject(bucket, key);
    ASSERT_TRUE(deleted.ok()) << deleted.status();
    EXPECT_TRUE(*deleted);
  }

  std::string dir_;
  std::unique_ptr<MetaStore> store_;
};

using Ids = std::vector<std::string>;

TEST_F(ReferencesTest, CopySharesEveryPiece) {
  ASSERT_TRUE(store().PutObject("src", "a", TwoPieces("p")).ok());
  EXPECT_EQ(Refs("p-1"), 1u);
  EXPECT_EQ(Refs("p-2"), 1u);
  ASSERT_TRUE(Copy("a", "dst", "b").ok());
  EXPECT_EQ(Refs("p-1"), 2u);
  EXPECT_EQ(Refs("p-2"), 2u);
  auto copy = store().GetObject("dst", "b");
  ASSERT_TRUE(copy.ok() && copy->has_value());
  EXPECT_EQ((*copy)->parts(0).manifest().object_id(), "p-1");
  EXPECT_EQ((*copy)->user_metadata().at("copied"), "yes");
  EXPECT_TRUE(Queued().empty());
}

TEST_F(ReferencesTest, DeletingTheSourceLeavesTheCopysPieces) {
  ASSERT_TRUE(store().PutObject("src", "a", TwoPieces("p")).ok());
  ASSERT_TRUE(Copy("a", "dst", "b").ok());
  Delete("src", "a");
  EXPECT_EQ(Refs("p-1"), 1u);
  EXPECT_EQ(Refs("p-2"), 1u);
  EXPECT_TRUE(Queued().empty());
  EXPECT_EQ(store().DeletionBacklog(), 0u);
}

TEST_F(ReferencesTest, DeletingBothQueuesEachPieceExactlyOnce) {
  ASSERT_TRUE(store().PutObject("src", "a", TwoPieces("p")).ok());
  ASSERT_TRUE(Copy("a", "dst", "b").ok());
  ASSERT_TRUE(Copy("a", "src", "c").ok());  // a third holder in the same bucket
  EXPECT_EQ(Refs("p-1"), 3u);
  Delete("dst", "b");
  Delete("src", "a");
  EXPECT_TRUE(Queued().empty());
  Delete("src", "c");
  EXPECT_EQ(Queued(), (Ids{"p-1", "p-2"}));
  EXPECT_EQ(store().DeletionBacklog(), 2u);
  EXPECT_EQ(Refs("p-1"), 0u);
  EXPECT_EQ(Refs("p-2"), 0u);
}

TEST_F(ReferencesTest, CopyOntoItselfKeepsOneReference) {
  ASSERT_TRUE(store().PutObject("src", "a", TwoPieces("p")).ok());
  ASSERT_TRUE(Copy("a", "src", "a").ok());
  EXPECT_EQ(Refs("p-1"), 1u);
  EXPECT_EQ(Refs("p-2"), 1u);
  EXPECT_TRUE(Queued().empty());
  EXPECT_EQ((*store().GetObject("src", "a"))->user_metadata().at("copied"), "yes");
  Delete("src", "a");
  EXPECT_EQ(Queued(), (Ids{"p-1", "p-2"}));
}

TEST_F(ReferencesTest, OverwritingACopyReleasesOneReference) {
  ASSERT_TRUE(store().PutObject("src", "a", TwoPieces("p")).ok());
  ASSERT_TRUE(Copy("a", "dst", "b").ok());
  ASSERT_TRUE(store().PutObject("dst", "b", TwoPieces("q")).ok());
  EXPECT_EQ(Refs("p-1"), 1u);
  EXPECT_EQ(Refs("p-2"), 1u);
  EXPECT_EQ(Refs("q-1"), 1u);
  EXPECT_TRUE(Queued().empty());
  // Overwriting the source now releases the last reference to its pieces.
  ASSERT_TRUE(store().PutObject("src", "a", TwoPieces("r")).ok());
  EXPECT_EQ(Queued(), (Ids{"p-1", "p-2"}));
}

TEST_F(ReferencesTest, CopyOverAnotherCopyOfTheSameSourceChangesNothing) {
  ASSERT_TRUE(store().PutObject("src", "a", TwoPieces("p")).ok());
  ASSERT_TRUE(Copy("a", "dst", "b").ok());
  ASSERT_TRUE(Copy("a", "dst", "b").ok());
  EXPECT_EQ(Refs("p-1"), 2u);
  EXPECT_TRUE(Queued().empty());
}

TEST_F(ReferencesTest, FailedBuildOrCheckCommitsNothing) {
  ASSERT_TRUE(store().PutObject("src", "a", TwoPieces("p")).ok());
  absl::Status missing = Copy("none", "dst", "b");
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  absl::Status vetoed =
      store()
          .CopyObject(
              "src", "a", "dst", "b",
              [](const std::optional<v1::ObjectRecord>& s) -> absl::StatusOr<v1::ObjectRecord> {
                return *s;
              },
              [](const std::optional<v1::ObjectRecord>&) {
                return absl::FailedPreconditionError("vetoed");
              })
          .status();
  EXPECT_EQ(vetoed.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(store().GetObject("dst", "b")->has_value());
  EXPECT_EQ(Refs("p-1"), 1u);
  EXPECT_TRUE(Queued().empty());
}

// Repair moves a shard by changing the piece once: every object sharing it sees the move,
// and the deletion of the last reference deletes the shard where it is now.
TEST_F(ReferencesTest, MovedShardIsSeenByEveryRecordAndDeletedWhereItIs) {
  v1::ObjectRecord r = TwoPieces("moved");
  for (auto& part : *r.mutable_parts()) part.mutable_manifest()->add_stripes()->add_nodes("n1");
  ASSERT_TRUE(store().PutObject("src", "a", r).ok());
  ASSERT_TRUE(Copy("a", "dst", "b").ok());
  ASSERT_TRUE(store().MoveShard("moved-1", 0, 0, "n1", "n7").ok());
  // A second move from the old node is refused: the shard is not there any more.
  EXPECT_EQ(store().MoveShard("moved-1", 0, 0, "n1", "n8").code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store().MoveShard("moved-1", 5, 0, "n7", "n8").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store().MoveShard("nothing", 0, 0, "n1", "n8").code(), absl::StatusCode::kNotFound);
  for (auto [bucket, key] : {std::pair{"src", "a"}, std::pair{"dst", "b"}}) {
    auto got = store().GetObject(bucket, key);
    ASSERT_TRUE(got.ok() && got->has_value()) << got.status();
    EXPECT_EQ((*got)->parts(0).manifest().stripes(0).nodes(0), "n7") << bucket;
    EXPECT_EQ((*got)->parts(1).manifest().stripes(0).nodes(0), "n1") << bucket;
  }
  // A copy made after the move keeps the moved placement, not a stale one.
  ASSERT_TRUE(Copy("a", "dst", "c").ok());
  Delete("src", "a");
  Delete("dst", "b");
  Delete("dst", "c");
  auto pending = store().PendingDeletions(10);
  ASSERT_TRUE(pending.ok()) << pending.status();
  ASSERT_EQ(pending->size(), 2u);
  for (const auto& [seq, d] : *pending) {
    EXPECT_EQ(d.manifest().stripes(0).nodes(0),
              d.manifest().object_id() == "moved-1" ? "n7" : "n1");
  }
}

TEST_F(ReferencesTest, ListPiecesPagesInIdOrder) {
  ASSERT_TRUE(store().PutObject("src", "x", TwoPieces("p")).ok());
  ASSERT_TRUE(store().PutObject("src", "y", TwoPieces("q")).ok());
  std::vector<std::string> ids;
  std::string after;
  for (int page = 0; page < 10; ++page) {
    auto got = store().ListPieces(after, 3);
    ASSERT_TRUE(got.ok()) << got.status();
    if (got->empty()) break;
    for (const auto& [id, piece] : *got) {
      ids.push_back(id);
      EXPECT_EQ(piece.references(), 1u);
      EXPECT_EQ(piece.manifest().object_id(), id);
    }
    after = got->back().first;
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"p-1", "p-2", "q-1", "q-2"}));
}

v1::RepairRecord Repair(const std::string& piece, uint64_t stripe, std::vector<uint32_t> shards,
                        uint32_t margin, const std::string& reason) {
  v1::RepairRecord r;
  r.set_piece_id(piece);
  r.set_stripe(stripe);
  for (uint32_t s : shards) r.add_shards(s);
  r.set_margin(margin);
  r.set_reason(reason);
  return r;
}

// The repair queue: lowest margin first, one entry per stripe (merged), resumable (it is
// in RocksDB), finished or retried by stripe.
TEST_F(ReferencesTest, RepairQueueOrdersByMarginAndMergesStripes) {
  ASSERT_TRUE(store().QueueRepair(Repair("a", 0, {4}, 2, "scrub")).ok());
  ASSERT_TRUE(store().QueueRepair(Repair("b", 3, {1}, 1, "node down")).ok());
  ASSERT_TRUE(store().QueueRepair(Repair("a", 1, {0}, 2, "node down")).ok());
  // The same stripe again, with another shard and less margin: merged, moved up.
  ASSERT_TRUE(store().QueueRepair(Repair("a", 0, {2, 4}, 0, "node down")).ok());
  EXPECT_EQ(store().RepairBacklog(), 3u);
  auto pending = store().PendingRepairs(10);
  ASSERT_TRUE(pending.ok()) << pending.status();
  ASSERT_EQ(pending->size(), 3u);
  EXPECT_EQ((*pending)[0].piece_id(), "a");
  EXPECT_EQ((*pending)[0].stripe(), 0u);
  EXPECT_EQ(std::vector<uint32_t>((*pending)[0].shards().begin(), (*pending)[0].shards().end()),
            (std::vector<uint32_t>{2, 4}));
  EXPECT_EQ((*pending)[0].reason(), "scrub, node down");
  EXPECT_EQ((*pending)[1].piece_id(), "b");
  EXPECT_EQ((*pending)[2].stripe(), 1u);
  // A retry keeps one entry; finishing removes it; finishing twice changes nothing.
  v1::RepairRecord retry = (*pending)[1];
  retry.set_attempts(1);
  retry.set_margin(3);
  ASSERT_TRUE(store().FinishRepair((*pending)[1], retry).ok());
  EXPECT_EQ(store().RepairBacklog(), 3u);
  ASSERT_TRUE(store().FinishRepair((*pending)[0], std::nullopt).ok());
  ASSERT_TRUE(store().FinishRepair((*pending)[0], std::nullopt).ok());
  EXPECT_EQ(store().RepairBacklog(), 2u);
  pending = store().PendingRepairs(10);
  ASSERT_TRUE(pending.ok()) << pending.status();
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].piece_id(), "a");
  EXPECT_EQ((*pending)[1].piece_id(), "b");
  EXPECT_EQ((*pending)[1].attempts(), 1u);
  // The queue and its count survive a restart.
  store_.reset();
  auto reopened = OpenTestStore(dir_);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  store_ = std::move(*reopened);
  EXPECT_EQ(store().RepairBacklog(), 2u);
}

// A shard re-placed by MoveShard leaves its stripe's repair entry in the same write: a
// gateway stopped between the move and FinishRepair must not find the shard queued again
// (re-placing it from a healthy node once more put two shards of a stripe at one provider).
TEST_F(ReferencesTest, MovedShardLeavesTheRepairQueueInTheSameWrite) {
  v1::ObjectRecord r = TwoPieces("q");
  for (auto& part : *r.mutable_parts()) {
    auto* stripe = part.mutable_manifest()->add_stripes();
    for (const char* n : {"n1", "n2", "n3"}) stripe->add_nodes(n);
  }
  ASSERT_TRUE(store().PutObject("src", "a", r).ok());
  ASSERT_TRUE(store().QueueRepair(Repair("q-1", 0, {0, 2}, 1, "node down")).ok());
  ASSERT_EQ(store().RepairBacklog(), 1u);
  ASSERT_TRUE(store().MoveShard("q-1", 0, 0, "n1", "n7").ok());
  auto pending = store().PendingRepairs(10);
  ASSERT_TRUE(pending.ok()) << pending.status();
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ(std::vector<uint32_t>((*pending)[0].shards().begin(), (*pending)[0].shards().end()),
            std::vector<uint32_t>{2});
  ASSERT_TRUE(store().MoveShard("q-1", 0, 2, "n3", "n8").ok());
  pending = store().PendingRepairs(10);
  ASSERT_TRUE(pending.ok()) << pending.status();
  EXPECT_TRUE(pending->empty());
  EXPECT_EQ(store().RepairBacklog(), 0u);
  // A move of a stripe that is not queued (a drain's second look) changes no count.
  ASSERT_TRUE(store().MoveShard("q-1", 0, 1, "n2", "n9").ok());
  EXPECT_EQ(store().RepairBacklog(), 0u);
}

// Finishing an entry ends only the shards that were taken: a shard queued while the repair
// ran (another node went down) stays queued, also when the taken ones are put back to retry.
TEST_F(ReferencesTest, FinishingARepairKeepsShardsQueuedMeanwhile) {
  ASSERT_TRUE(store().QueueRepair(Repair("p", 0, {1}, 2, "node down")).ok());
  auto taken = store().PendingRepairs(10);
  ASSERT_TRUE(taken.ok() && taken->size() == 1u) << taken.status();
  ASSERT_TRUE(store().QueueRepair(Repair("p", 0, {3}, 1, "scrub")).ok());
  ASSERT_TRUE(store().FinishRepair((*taken)[0], std::nullopt).ok());
  auto pending = store().PendingRepairs(10);
  ASSERT_TRUE(pending.ok() && pending->size() == 1u) << pending.status();
  EXPECT_EQ(std::vector<uint32_t>((*pending)[0].shards().begin(), (*pending)[0].shards().end()),
            std::vector<uint32_t>{3});
  EXPECT_EQ(store().RepairBacklog(), 1u);

  ASSERT_TRUE(store().QueueRepair(Repair("p", 0, {5}, 0, "node down")).ok());
  v1::RepairRecord retry = (*pending)[0];
  retry.set_attempts(1);
  ASSERT_TRUE(store().FinishRepair((*pending)[0], retry).ok());
  pending = store().PendingRepairs(10);
  ASSERT_TRUE(pending.ok() && pending->size() == 1u) << pending.status();
  EXPECT_EQ(std::vector<uint32_t>((*pending)[0].shards().begin(), (*pending)[0].shards().end()),
            (std::vector<uint32_t>{3, 5}));
  EXPECT_EQ((*pending)[0].margin(), 0u);
  EXPECT_EQ((*pending)[0].attempts(), 1u);
  ASSERT_TRUE(store().FinishRepair((*pending)[0], std::nullopt).ok());
  EXPECT_EQ(store().RepairBacklog(), 0u);
}

// Issue 14: the repair job commits many stripes in one write. Each move is a compare-and-set
// of its own (a failed one changes nothing else), a piece named twice is changed for both,
// and each entry ends as FinishRepair would, put back with its retry when it has one.
TEST_F(ReferencesTest, RepairsOfManyStripesCommitInOneWrite) {
  v1::ObjectRecord r = TwoPieces("c");
  for (auto& part : *r.mutable_parts()) {
    for (int s = 0; s < 2; ++s) {
      auto* stripe = part.mutable_manifest()->add_stripes();
      for (const char* n : {"n1", "n2", "n3"}) stripe->add_nodes(n);
    }
  }
  ASSERT_TRUE(store().PutObject("src", "a", r).ok());
  for (auto [piece, stripe] :
       {std::pair{"c-1", 0}, std::pair{"c-1", 1}, std::pair{"c-2", 0}, std::pair{"gone", 0}}) {
    ASSERT_TRUE(store().QueueRepair(Repair(piece, stripe, {0, 1}, 1, "node down")).ok());
  }
  auto taken = store().PendingRepairs(10);
  ASSERT_TRUE(taken.ok() && taken->size() == 4u) << taken.status();
  auto entry = [&](const std::string& piece, uint64_t stripe) {
    for (const v1::RepairRecord& e : *taken) {
      if (e.piece_id() == piece && e.stripe() == stripe) return e;
    }
    ADD_FAILURE() << piece << " " << stripe;
    return v1::RepairRecord();
  };
  std::vector<MetaStore::RepairCommit> commits(4);
  commits[0].taken = entry("c-1", 0);
  commits[0].moves = {{0, "n1", "n7"}, {1, "n2", "n8"}};
  commits[1].taken = entry("c-1", 1);
  commits[1].moves = {{0, "n9", "n7"}, {1, "n2", "n8"}};  // shard 0 is not on n9
  commits[1].retry = commits[1].taken;
  commits[1].retry->clear_shards();
  commits[1].retry->add_shards(0);
  commits[1].retry->set_attempts(1);
  commits[2].taken = entry("c-2", 0);
  commits[2].moves = {{2, "n3", "n7"}, {5, "n3", "n7"}};  // no shard 5
  commits[3].taken = entry("gone", 0);
  commits[3].moves = {{0, "n1", "n7"}};
  auto moved = store().CommitRepairs(commits);
  ASSERT_TRUE(moved.ok()) << moved.status();
  using C = absl::StatusCode;
  auto codes = [&](size_t i) {
    std::vector<C> out;
    for (const absl::Status& s : (*moved)[i]) out.push_back(s.code());
    return out;
  };
  EXPECT_EQ(codes(0), (std::vector<C>{C::kOk, C::kOk}));
  EXPECT_EQ(codes(1), (std::vector<C>{C::kFailedPrecondition, C::kOk}));
  EXPECT_EQ(codes(2), (std::vector<C>{C::kOk, C::kInvalidArgument}));
  EXPECT_EQ(codes(3), (std::vector<C>{C::kNotFound}));

  auto nodes = [&](const std::string& piece, int stripe) {
    auto p = store().GetPiece(piece);
    EXPECT_TRUE(p.ok() && p->has_value()) << piece;
    const auto& n = (*p)->manifest().stripes(stripe).nodes();
    return std::vector<std::string>(n.begin(), n.end());
  };
  EXPECT_EQ(nodes("c-1", 0), (Ids{"n7", "n8", "n3"}));
  EXPECT_EQ(nodes("c-1", 1), (Ids{"n1", "n8", "n3"}));
  EXPECT_EQ(nodes("c-2", 0), (Ids{"n1", "n2", "n7"}));
  EXPECT_EQ(nodes("c-2", 1), (Ids{"n1", "n2", "n3"}));
  // Only the entry put back is left, with its retry's shards and attempts.
  auto pending = store().PendingRepairs(10);
  ASSERT_TRUE(pending.ok() && pending->size() == 1u) << pending.status();
  EXPECT_EQ((*pending)[0].piece_id(), "c-1");
  EXPECT_EQ((*pending)[0].stripe(), 1u);
  EXPECT_EQ(std::vector<uint32_t>((*pending)[0].shards().begin(), (*pending)[0].shards().end()),
            std::vector<uint32_t>{0});
  EXPECT_EQ((*pending)[0].attempts(), 1u);
  EXPECT_EQ(store().RepairBacklog(), 1u);
}

}  // namespace
}  // namespace mosaic::gateway
