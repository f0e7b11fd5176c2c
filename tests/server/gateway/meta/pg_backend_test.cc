// The PostgreSQL backend itself (issue 17): migrations applied once and in order, row locks
// on rows that do not exist yet, byte-ordered scans across pages, snapshots, and a server
// that goes away (UNAVAILABLE) and comes back (the pool reconnects). Against a real
// PostgreSQL (tests/server/gateway/meta/test_store.h).

#include "server/gateway/meta/pg_backend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/server/gateway/meta/test_store.h"

namespace mosaic::gateway::meta {
namespace {

class PgBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    auto dsn = TestDatabase(std::string("pg_backend_test/") + info->name());
    ASSERT_TRUE(dsn.ok()) << dsn.status();
    options_.dsn = *dsn;
    // Lock waits give up fast: a test sees who holds a lock without threads.
    options_.lock_timeout = std::chrono::milliseconds(200);
  }
  std::unique_ptr<PgBackend> Open() {
    auto b = PgBackend::Open(options_);
    EXPECT_TRUE(b.ok()) << b.status();
    return b.ok() ? std::move(*b) : nullptr;
  }
  PgOptions options_;
};

TEST_F(PgBackendTest, MigrationsApplyOnceInOrderAndANewerSchemaIsRefused) {
  std::vector<PgMigration> two = {{1, "CREATE TABLE first_table (a int)"},
                                  {2, "ALTER TABLE first_table ADD COLUMN b int"}};
  {
    auto b = PgBackend::OpenWith(options_, two);
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_EQ(*(*b)->SchemaVersion(), 2);
  }
  // Again: nothing is applied twice (CREATE TABLE would fail).
  auto again = PgBackend::OpenWith(options_, two);
  ASSERT_TRUE(again.ok()) << again.status();
  // A gateway that only knows version 1 refuses the database.
  auto older = PgBackend::OpenWith(options_, {two[0]});
  EXPECT_EQ(older.status().code(), absl::StatusCode::kFailedPrecondition) << older.status();
}

TEST_F(PgBackendTest, AFailedMigrationLeavesTheSchemaAsItWas) {
  std::vector<PgMigration> bad = {
      {1, "CREATE TABLE kept (a int)"},
      {2, "CREATE TABLE half (a int); SELECT no_such_column FROM kept"}};
  auto b = PgBackend::OpenWith(options_, bad);
  EXPECT_FALSE(b.ok());
  // Nothing of it stayed: version 1 applies from scratch.
  auto first = PgBackend::OpenWith(options_, {bad[0]});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*(*first)->SchemaVersion(), 1);
  auto gateway = PgBackend::Open(options_);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  EXPECT_EQ(*(*gateway)->SchemaVersion(), PgMigrations().back().version);
}

TEST_F(PgBackendTest, ALockOnAMissingRowHoldsOffOtherLockersAndWriters) {
  auto b = Open();
  ASSERT_TRUE(b);
  auto t1 = b->Begin();
  ASSERT_EQ(*t1->GetForUpdate("k"), std::nullopt);
  auto t2 = b->Begin();
  EXPECT_EQ(t2->GetForUpdate("k").status().code(), absl::StatusCode::kAborted);
  auto t3 = b->Begin();
  EXPECT_EQ(t3->Put("k", "other").code(), absl::StatusCode::kAborted);
  ASSERT_TRUE(t1->Put("k", "first").ok());
  ASSERT_TRUE(t1->Commit().ok());
  // The next locker sees what the holder committed.
  auto t4 = b->Begin();
  EXPECT_EQ(*t4->GetForUpdate("k"), "first");
}

TEST_F(PgBackendTest, SharedLocksShareAndAnExclusiveOneWaits) {
  auto b = Open();
  ASSERT_TRUE(b);
  auto t1 = b->Begin();
  auto t2 = b->Begin();
  ASSERT_TRUE(t1->GetForUpdate("bucket", Transaction::Lock::kShared).ok());
  ASSERT_TRUE(t2->GetForUpdate("bucket", Transaction::Lock::kShared).ok());
  auto t3 = b->Begin();
  EXPECT_EQ(t3->GetForUpdate("bucket").status().code(), absl::StatusCode::kAborted);
  t1.reset();
  t2.reset();  // rolled back: the locks go
  auto t4 = b->Begin();
  EXPECT_TRUE(t4->GetForUpdate("bucket").ok());
}

TEST_F(PgBackendTest, ScansAreInByteOrderAcrossPagesWithinThePrefix) {
  auto b = Open();
  ASSERT_TRUE(b);
  std::vector<std::string> keys;
  for (int i = 0; i < 600; ++i) keys.push_back("p" + std::to_string(1000 + i));
  keys.push_back(std::string("p\xff", 2));
  keys.push_back(std::string("p\xff\xff", 3));
  keys.push_back(std::string("p\0", 2));
  ASSERT_TRUE(b->Run([&](Transaction& t) -> absl::Status {
                 for (const auto& k : keys) RETURN_IF_ERROR(t.Put(k, "v" + k));
                 RETURN_IF_ERROR(t.Put("o", "before"));
                 RETURN_IF_ERROR(t.Put("q", "after"));
                 return t.Put(std::string("\xff\xff", 2), "last");
               }).ok());
  std::sort(keys.begin(), keys.end());
  std::vector<std::string> seen;
  auto snap = b->Snapshot();
  ASSERT_TRUE(snap->Scan("p", "",
                         [&](std::string_view k, std::string_view v) {
                           EXPECT_EQ(v, "v" + std::string(k));
                           seen.emplace_back(k);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(seen, keys);
  // From a key on, and a prefix of 0xff bytes (no successor).
  seen.clear();
  ASSERT_TRUE(snap->Scan("p", "p1300",
                         [&](std::string_view k, std::string_view) {
                           seen.emplace_back(k);
                           return seen.size() < 3;
                         })
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"p1300", "p1301", "p1302"}));
  seen.clear();
  ASSERT_TRUE(snap->Scan(std::string("\xff", 1), "",
                         [&](std::string_view k, std::string_view) {
                           seen.emplace_back(k);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::string>{std::string("\xff\xff", 2)}));
}

TEST_F(PgBackendTest, ASnapshotReadsOnePointInTime) {
  auto b = Open();
  ASSERT_TRUE(b);
  ASSERT_TRUE(b->Run([](Transaction& t) { return t.Put("a", "1"); }).ok());
  auto snap = b->Snapshot();
  ASSERT_EQ(*snap->Get("a"), "1");
  ASSERT_TRUE(b->Run([](Transaction& t) { return t.Put("a", "2"); }).ok());
  EXPECT_EQ(*snap->Get("a"), "1");
  EXPECT_FALSE(snap->Put("a", "3").ok());
  EXPECT_EQ(*b->Snapshot()->Get("a"), "2");
}

// Last: it stops the process's server (and starts it again).
TEST_F(PgBackendTest, AServerThatIsDownIsUnavailableAndItsReturnIsNoticed) {
  auto b = Open();
  ASSERT_TRUE(b);
  ASSERT_TRUE(b->Run([](Transaction& t) { return t.Put("a", "1"); }).ok());
  auto server = TestPostgres::Get();
  ASSERT_TRUE(server.ok());
  ASSERT_TRUE((*server)->pg().Stop().ok());
  auto down = b->Snapshot()->Get("a");
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable) << down.status();
  EXPECT_EQ(b->Run([](Transaction& t) { return t.Put("a", "2"); }).code(),
            absl::StatusCode::kUnavailable);
  ASSERT_TRUE((*server)->pg().Restart().ok());
  // The pool dropped the dead connections and connects anew.
  auto up = b->Snapshot()->Get("a");
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(*up, "1");
}

}  // namespace
}  // namespace mosaic::gateway::meta
