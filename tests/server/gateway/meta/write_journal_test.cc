// "Mark uploading first" across gateways (issue 17): a writer's object is in the database
// from its reservation until the heartbeat after its release; a sweep that dropped the writer
// (dead to it) gets its writes in progress recorded again; a writer is dead to a watch only
// when its heartbeat stood still for the ttl on the watch's clock, and never to itself. With
// MOSAIC_TEST_POSTGRES, on PostgreSQL (test_store.h).

#include "server/gateway/meta/write_journal.h"

#include <gtest/gtest.h>

#include "tests/server/gateway/meta/store_fixture.h"

namespace mosaic::gateway {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kTtl{6000};

class WriteJournalTest : public StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    OpenStore();
  }
  std::vector<WriteInFlight> Writes() {
    auto w = store().WritesInFlight();
    EXPECT_TRUE(w.ok()) << w.status();
    return w.ok() ? *w : std::vector<WriteInFlight>{};
  }
  static client::ObjectId Object(int n) {
    client::ObjectId id{};
    id[0] = std::byte(n);
    id[15] = std::byte{0};  // a NUL inside the id: keys are bytes
    return id;
  }
};

TEST_F(WriteJournalTest, AWriteIsRecordedFromItsReservationUntilTheBeatAfterItsRelease) {
  WriteJournal journal(store(), "gw-a", kTtl);
  ASSERT_TRUE(journal.Reserve(Object(1), 6, 1).ok());
  ASSERT_TRUE(journal.Reserve(Object(1), 6, 4).ok());  // a reservation grows in place
  ASSERT_TRUE(journal.Reserve(Object(2), 3, 1).ok());
  auto writes = Writes();
  ASSERT_EQ(writes.size(), 2u);
  EXPECT_EQ(writes[0].writer, journal.writer());
  EXPECT_EQ(writes[0].object_id[0], char(1));
  EXPECT_EQ(writes[0].object_id.size(), 16u);
  EXPECT_EQ(writes[0].stripes, 4u);
  EXPECT_EQ(writes[0].shards, 6u);
  EXPECT_EQ(writes[1].shards, 3u);

  journal.Release(Object(1));
  EXPECT_EQ(Writes().size(), 2u) << "released records go at the next heartbeat";
  ASSERT_TRUE(journal.Step().ok());
  writes = Writes();
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].object_id[0], char(2));
  auto beats = store().WriterBeats();
  ASSERT_TRUE(beats.ok()) << beats.status();
  EXPECT_EQ(beats->at(journal.writer()), 1u);
}

// A repair releases an object and holds it again for its next stripes (jobs/repairer.h):
// reserved again before the heartbeat, its record stays.
TEST_F(WriteJournalTest, AWriteReservedAgainAfterItsReleaseKeepsItsRecord) {
  WriteJournal journal(store(), "gw-a", kTtl);
  ASSERT_TRUE(journal.Reserve(Object(1), 6, 4).ok());
  journal.Release(Object(1));
  ASSERT_TRUE(journal.Reserve(Object(1), 6, 4).ok());
  ASSERT_TRUE(journal.Step().ok());
  EXPECT_EQ(Writes().size(), 1u);
  journal.Release(Object(1));
  ASSERT_TRUE(journal.Step().ok());
  EXPECT_TRUE(Writes().empty());
}

TEST_F(WriteJournalTest, EachRunOfAGatewayIsAnotherWriter) {
  WriteJournal first(store(), "gw-a", kTtl), second(store(), "gw-a", kTtl);
  EXPECT_NE(first.writer(), second.writer());
  EXPECT_EQ(first.writer().rfind("gw-a#", 0), 0u);
}

TEST_F(WriteJournalTest, AWriterDroppedAsDeadRecordsItsWritesInProgressAgain) {
  WriteJournal journal(store(), "gw-a", kTtl);
  ASSERT_TRUE(journal.Reserve(Object(1), 6, 2).ok());
  ASSERT_TRUE(journal.Step().ok());
  auto dropped = store().DropWriter(journal.writer());
  ASSERT_TRUE(dropped.ok()) << dropped.status();
  EXPECT_EQ(*dropped, 1u);
  EXPECT_TRUE(Writes().empty());
  ASSERT_TRUE(journal.Step().ok());
  auto writes = Writes();
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].stripes, 2u);
}

TEST_F(WriteJournalTest, DroppingAWriterLeavesTheOthersRecords) {
  WriteJournal a(store(), "gw-a", kTtl), b(store(), "gw-b", kTtl);
  ASSERT_TRUE(a.Reserve(Object(1), 6, 1).ok());
  ASSERT_TRUE(b.Reserve(Object(2), 6, 1).ok());
  ASSERT_TRUE(store().DropWriter(a.writer()).ok());
  auto writes = Writes();
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].writer, b.writer());
}

TEST(WriterWatchTest, AWriterIsDeadOnlyWhenItsCountStoodStillForTheTtl) {
  WriterWatch watch("me", kTtl);
  WriterWatch::Clock::time_point t0{std::chrono::hours(1)};
  EXPECT_FALSE(watch.Dead("other", 3, t0));
  EXPECT_FALSE(watch.Dead("other", 3, t0 + kTtl - milliseconds(1)));
  EXPECT_FALSE(watch.Dead("other", 4, t0 + kTtl)) << "it moved: alive, clock restarts";
  EXPECT_FALSE(watch.Dead("other", 4, t0 + 2 * kTtl - milliseconds(1)));
  EXPECT_TRUE(watch.Dead("other", 4, t0 + 2 * kTtl));
  watch.Forget("other");
  EXPECT_FALSE(watch.Dead("other", 4, t0 + 3 * kTtl)) << "forgotten: first seen again";
}

TEST(WriterWatchTest, ItsOwnWriterIsNeverDeadToAWatch) {
  WriterWatch watch("me", kTtl);
  WriterWatch::Clock::time_point t0{};
  EXPECT_FALSE(watch.Dead("me", 0, t0));
  EXPECT_FALSE(watch.Dead("me", 0, t0 + 100 * kTtl));
}

}  // namespace
}  // namespace mosaic::gateway
