// Job leases (issue 17): one leader per job among gateways sharing the metadata, takeover
// only after the holder's heartbeat stood still for the lease's time on the taker's clock,
// a holder that cannot renew stops leading first, and the swap is a compare-and-set. Two
// JobLease objects with different names on one store play two gateways; time is a fake
// clock. With MOSAIC_TEST_POSTGRES, on PostgreSQL (test_store.h).

#include "server/gateway/meta/lease.h"

#include <gtest/gtest.h>

#include "tests/server/gateway/meta/store_fixture.h"

namespace mosaic::gateway {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kTtl{6000};

class LeaseTest : public StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    OpenStore();
  }
  JobLease Lease(const std::string& me) {
    return JobLease(store(), "repair", me, kTtl, [this] { return now_; });
  }
  std::chrono::steady_clock::time_point now_{std::chrono::hours(1)};
};

TEST_F(LeaseTest, TheFirstGatewayTakesAFreeLeaseAndTheOtherStandsBy) {
  JobLease a = Lease("gw-a"), b = Lease("gw-b");
  ASSERT_TRUE(*a.Beat());
  EXPECT_TRUE(a.Leads());
  EXPECT_FALSE(*b.Beat());
  EXPECT_FALSE(b.Leads());
  EXPECT_EQ(b.Leader(), "gw-a");
  auto leases = store().Leases();
  ASSERT_TRUE(leases.ok()) << leases.status();
  EXPECT_EQ(leases->at("repair").holder, "gw-a");
}

TEST_F(LeaseTest, ALiveLeaderKeepsItsLease) {
  JobLease a = Lease("gw-a"), b = Lease("gw-b");
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(*a.Beat()) << i;
    EXPECT_FALSE(*b.Beat()) << i;
    now_ += kTtl / 4;
  }
  EXPECT_TRUE(a.Leads());
}

TEST_F(LeaseTest, AStandbyTakesOverOnlyAfterTheHeartbeatStoodStillForTheTtl) {
  JobLease a = Lease("gw-a"), b = Lease("gw-b");
  ASSERT_TRUE(*a.Beat());
  ASSERT_FALSE(*b.Beat());  // b sees a's heartbeat now
  now_ += kTtl / 2;
  EXPECT_FALSE(a.Leads());  // a could not renew: it stops leading first
  now_ += kTtl / 2 - milliseconds(1);
  EXPECT_FALSE(*b.Beat());
  now_ += milliseconds(1);
  ASSERT_TRUE(*b.Beat());
  EXPECT_TRUE(b.Leads());
  // a comes back: the lease is b's, and fresh.
  EXPECT_FALSE(*a.Beat());
  EXPECT_EQ(a.Leader(), "gw-b");
}

TEST_F(LeaseTest, SwapLeaseIsACompareAndSetOnTheHeartbeat) {
  ASSERT_TRUE(*store().SwapLease("scrub", 0, {"gw-a", 1}));
  EXPECT_FALSE(*store().SwapLease("scrub", 0, {"gw-b", 1}));  // taken meanwhile
  ASSERT_TRUE(*store().SwapLease("scrub", 1, {"gw-b", 2}));
  EXPECT_EQ((*store().GetLease("scrub"))->holder, "gw-b");
}

}  // namespace
}  // namespace mosaic::gateway
