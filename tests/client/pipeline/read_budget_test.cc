#include "client/pipeline/read_budget.h"

#include <gtest/gtest.h>

namespace mosaic::client {
namespace {

constexpr uint64_t kMiB = 1 << 20;

TEST(ReadBudgetTest, AReaderHoldingNothingMayAlwaysTakeOneStripe) {
  ReadBudget budget(32 * kMiB);
  for (int i = 0; i < 4; ++i) budget.AddReader();
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(budget.TryCharge(0, 16 * kMiB, true));
  EXPECT_EQ(budget.used_bytes(), 64 * kMiB);  // past the total: every reader progresses
  // Opened ahead (not being read), even an empty reader waits for room.
  budget.AddReader();
  EXPECT_FALSE(budget.TryCharge(0, 16 * kMiB, false));
}

TEST(ReadBudgetTest, ReadAheadStopsAtTheReadersShare) {
  ReadBudget budget(64 * kMiB);
  for (int i = 0; i < 4; ++i) budget.AddReader();  // share: 16 MiB each
  EXPECT_TRUE(budget.TryCharge(0, 8 * kMiB, true));
  EXPECT_TRUE(budget.TryCharge(8 * kMiB, 8 * kMiB, true));
  EXPECT_FALSE(budget.TryCharge(16 * kMiB, 8 * kMiB, true));
  budget.RemoveReader();
  budget.RemoveReader();  // two left: 32 MiB each
  EXPECT_TRUE(budget.TryCharge(16 * kMiB, 8 * kMiB, true));
  EXPECT_EQ(budget.used_bytes(), 24 * kMiB);
}

TEST(ReadBudgetTest, ReadAheadStopsWhenTheTotalIsSpent) {
  ReadBudget budget(32 * kMiB);
  budget.AddReader();
  budget.AddReader();
  EXPECT_TRUE(budget.TryCharge(0, 30 * kMiB, true));         // a stalled reader's one stripe
  EXPECT_TRUE(budget.TryCharge(0, 8 * kMiB, true));          // another reader still starts
  EXPECT_FALSE(budget.TryCharge(8 * kMiB, 1 * kMiB, true));  // but reads no further ahead
  budget.Release(30 * kMiB);
  EXPECT_TRUE(budget.TryCharge(8 * kMiB, 8 * kMiB, true));
  EXPECT_EQ(budget.used_bytes(), 16 * kMiB);
}

}  // namespace
}  // namespace mosaic::client
