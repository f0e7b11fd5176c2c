#include "server/gateway/console/throttle.h"

#include <gtest/gtest.h>

namespace mosaic::gateway::console {
namespace {

TEST(LoginThrottleTest, FreeFailuresThenDoublingDelay) {
  LoginThrottle t;
  int64_t now = 1'000'000;
  for (int i = 0; i < LoginThrottle::kFreeFailures; ++i) {
    EXPECT_EQ(t.RetryAfterMs("ann", "10.0.0.1", now), 0) << i;
    t.Failed("ann", "10.0.0.1", now);
  }
  EXPECT_EQ(t.RetryAfterMs("ann", "10.0.0.1", now), 1000);
  EXPECT_EQ(t.RetryAfterMs("ann", "10.0.0.1", now + 1000), 0);
  t.Failed("ann", "10.0.0.1", now + 1000);
  EXPECT_EQ(t.RetryAfterMs("ann", "10.0.0.1", now + 1000), 2000);
}

TEST(LoginThrottleTest, AddressGuessingManyNamesIsSlowed) {
  LoginThrottle t;
  for (int i = 0; i < 8; ++i) t.Failed("name" + std::to_string(i), "10.0.0.9", 5000);
  EXPECT_GT(t.RetryAfterMs("someone-else", "10.0.0.9", 5000), 0);
  EXPECT_EQ(t.RetryAfterMs("someone-else", "10.0.0.10", 5000), 0);
}

TEST(LoginThrottleTest, SuccessClearsTheNameNotTheAddress) {
  LoginThrottle t;
  for (int i = 0; i < 6; ++i) t.Failed("bob", "10.0.0.2", 0);
  t.Succeeded("bob");
  EXPECT_EQ(t.RetryAfterMs("bob", "10.0.0.3", 0), 0);
  EXPECT_GT(t.RetryAfterMs("bob", "10.0.0.2", 0), 0);
}

TEST(LoginThrottleTest, DelayIsCappedAndForgottenAfterTheWindow) {
  LoginThrottle t;
  for (int i = 0; i < 40; ++i) t.Failed("eve", "10.0.0.4", 0);
  EXPECT_EQ(t.RetryAfterMs("eve", "10.0.0.4", 0), LoginThrottle::kMaxDelayMs);
  EXPECT_EQ(t.RetryAfterMs("eve", "10.0.0.4", LoginThrottle::kWindowMs + 1), 0);
}

}  // namespace
}  // namespace mosaic::gateway::console
