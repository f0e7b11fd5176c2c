// Bucket usage counters and quotas (issue 15): the counters follow every write that adds or
// removes an object or a version (overwrite, copy, delete, versions, delete markers) in the
// same transaction, and a write over a quota is refused and stores nothing.

#include "server/gateway/meta/tables/usage.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/server/gateway/meta/store_fixture.h"

namespace mosaic::gateway {
namespace {

using meta::IsQuotaExceeded;
using meta::usage::CheckQuota;
using meta::usage::Usage;

v1::BucketRecord Quota(uint64_t bytes, uint64_t objects) {
  v1::BucketRecord b;
  b.set_quota_bytes(bytes);
  b.set_quota_objects(objects);
  return b;
}

TEST(QuotaArithmeticTest, RefusesOnlyWhatGrowsPastTheQuota) {
  EXPECT_TRUE(CheckQuota("b", Quota(0, 0), {1'000'000, 1000}, {1'000'000, 1}).ok());
  EXPECT_TRUE(CheckQuota("b", Quota(100, 0), {60, 3}, {40, 1}).ok());  // exactly full
  absl::Status over = CheckQuota("b", Quota(100, 0), {60, 3}, {41, 1});
  EXPECT_TRUE(IsQuotaExceeded(over)) << over;
  EXPECT_EQ(over.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(over.message().find("Bucket b is over its quota"), std::string_view::npos) << over;
  // A write that does not grow the bytes passes even over the quota (it was lowered).
  EXPECT_TRUE(CheckQuota("b", Quota(100, 0), {150, 3}, {-10, 0}).ok());
  EXPECT_TRUE(CheckQuota("b", Quota(100, 0), {150, 3}, {0, 1}).ok());
  // Objects: the same rule on the count.
  EXPECT_TRUE(CheckQuota("b", Quota(0, 3), {10, 2}, {5, 1}).ok());
  EXPECT_TRUE(IsQuotaExceeded(CheckQuota("b", Quota(0, 3), {10, 3}, {5, 1})));
  EXPECT_TRUE(CheckQuota("b", Quota(0, 3), {10, 3}, {5, 0}).ok());  // an overwrite
  // Other RESOURCE_EXHAUSTED errors are not quota errors.
  EXPECT_FALSE(IsQuotaExceeded(absl::ResourceExhaustedError("slow down")));
}

class UsageTest : public StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    OpenStore();
    ASSERT_TRUE(store().CreateBucket("b", v1::BucketRecord()).ok());
  }
  static v1::ObjectRecord Object(const std::string& piece, uint64_t size) {
    v1::ObjectRecord r;
    r.set_etag("etag-" + piece);
    r.set_size(size);
    r.add_parts()->mutable_manifest()->set_object_id(piece);
    return r;
  }
  Usage Now() {
    auto u = store().BucketUsage("b");
    EXPECT_TRUE(u.ok()) << u.status();
    return u.ok() ? Usage{u->bytes(), u->objects()} : Usage{-1, -1};
  }
  void SetBucket(const std::function<void(v1::BucketRecord&)>& change) {
    ASSERT_TRUE(store()
                    .UpdateBucket("b",
                                  [&](v1::BucketRecord& r) {
                                    change(r);
                                    return absl::OkStatus();
                                  })
                    .ok());
  }
};

#define EXPECT_USAGE(bytes_, objects_) \
  do {                                 \
    Usage u = Now();                   \
    EXPECT_EQ(u.bytes, bytes_);        \
    EXPECT_EQ(u.objects, objects_);    \
  } while (0)

TEST_F(UsageTest, CountersFollowPutsOverwritesCopiesAndDeletes) {
  EXPECT_USAGE(0, 0);
  ASSERT_TRUE(store().PutObject("b", "a", Object("p1", 5)).ok());
  ASSERT_TRUE(store().PutObject("b", "c", Object("p2", 7)).ok());
  EXPECT_USAGE(12, 2);
  ASSERT_TRUE(store().PutObject("b", "a", Object("p3", 3)).ok());  // replaces 5 bytes
  EXPECT_USAGE(10, 2);
  auto copied = store().CopyObject(
      "b", "a", "b", "d",
      [](const std::optional<v1::ObjectRecord>& src) -> absl::StatusOr<v1::ObjectRecord> {
        return *src;
      });
  ASSERT_TRUE(copied.ok()) << copied.status();
  EXPECT_USAGE(13, 3);
  ASSERT_TRUE(store().DeleteObject("b", "c").ok());
  EXPECT_USAGE(6, 2);
  ASSERT_TRUE(store().DeleteObject("b", "nothing-here").ok());
  EXPECT_USAGE(6, 2);
}

TEST_F(UsageTest, EveryVersionCountsAndDeleteMarkersDoNot) {
  SetBucket([](v1::BucketRecord& r) { r.set_versioning(v1::BucketRecord::ENABLED); });
  ASSERT_TRUE(store().PutObject("b", "a", Object("p1", 5)).ok());
  auto second = store().PutObject("b", "a", Object("p2", 7));
  ASSERT_TRUE(second.ok());
  EXPECT_USAGE(12, 2);
  ASSERT_TRUE(store().DeleteObject("b", "a").ok());  // a delete marker
  EXPECT_USAGE(12, 2);
  auto gone = store().DeleteVersion("b", "a", *second, false, 0);
  ASSERT_TRUE(gone.ok() && gone->existed);
  EXPECT_USAGE(5, 1);
}

TEST_F(UsageTest, AWriteOverTheQuotaIsRefusedAndStoresNothing) {
  SetBucket([](v1::BucketRecord& r) { r.set_quota_bytes(10); });
  ASSERT_TRUE(store().PutObject("b", "a", Object("p1", 6)).ok());
  auto refused = store().PutObject("b", "big", Object("p2", 5));
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(IsQuotaExceeded(refused.status())) << refused.status();
  auto big = store().GetObject("b", "big");
  ASSERT_TRUE(big.ok());
  EXPECT_FALSE(big->has_value());
  EXPECT_USAGE(6, 1);
  auto references = store().References("p2");
  ASSERT_TRUE(references.ok());
  EXPECT_EQ(*references, 0u);
  // Replacing the 6 bytes with 9 stays within 10.
  ASSERT_TRUE(store().PutObject("b", "a", Object("p3", 9)).ok());
  EXPECT_USAGE(9, 1);
  // A copy over the quota is refused too.
  auto copy = store().CopyObject(
      "b", "a", "b", "a2",
      [](const std::optional<v1::ObjectRecord>& src) -> absl::StatusOr<v1::ObjectRecord> {
        return *src;
      });
  EXPECT_TRUE(IsQuotaExceeded(copy.status())) << copy.status();
  EXPECT_USAGE(9, 1);
}

TEST_F(UsageTest, ADeletedBucketStartsAgainFromZero) {
  ASSERT_TRUE(store().PutObject("b", "a", Object("p1", 5)).ok());
  ASSERT_TRUE(store().DeleteObject("b", "a").ok());
  ASSERT_TRUE(store().DeleteBucket("b").ok());
  ASSERT_TRUE(store().CreateBucket("b", v1::BucketRecord()).ok());
  EXPECT_USAGE(0, 0);
}

}  // namespace
}  // namespace mosaic::gateway
