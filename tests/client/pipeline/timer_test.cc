#include "client/pipeline/timer.h"

#include <gtest/gtest.h>

#include <memory>
#include <thread>
#include <vector>

#include "common/latch.h"

namespace mosaic::client {
namespace {

TEST(TimerTest, RunsDueCallbacksInTimeOrder) {
  Timer timer;
  auto now = Timer::Clock::now();
  std::mutex mu;
  std::vector<int> order;
  Latch ran(3);
  // The timer's thread is held by a first callback while the others are scheduled: else the
  // first one scheduled, due already, may run before the next is even scheduled.
  Latch holding(1), release(1);
  timer.Schedule(now, [&] {
    holding.Done();
    release.Wait();
  });
  holding.Wait();
  // All due already: once the thread is free they run at once, earliest first, whatever the
  // order scheduled.
  for (int i : {2, 0, 1}) {
    timer.Schedule(now - std::chrono::seconds(10 - i), [&, i] {
      std::lock_guard lock(mu);
      order.push_back(i);
      ran.Done();
    });
  }
  release.Done();
  ran.Wait();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
}

TEST(TimerTest, CancelledCallbackNeverRunsAndIsDropped) {
  Timer timer;
  auto owned = std::make_shared<int>(1);
  auto handle = timer.Schedule(Timer::Clock::now() + std::chrono::hours(1),
                               [owned] { ADD_FAILURE() << "a cancelled callback ran"; });
  EXPECT_EQ(timer.pending(), 1u);
  timer.Cancel(handle);
  EXPECT_EQ(timer.pending(), 0u);
  EXPECT_EQ(owned.use_count(), 1) << "the cancelled callback was kept";
  timer.Cancel(handle);  // twice: nothing
}

// The timer's thread waits until the earliest entry's time; cancelling that entry must not
// leave the wait reading the erased entry when the next Schedule wakes it. Only a sanitizer
// build sees the stale read (the ASan lane runs this program); every build checks that the
// timer still runs what is due afterwards.
TEST(TimerTest, CancellingTheEntryBeingWaitedForIsSafe) {
  Timer timer;
  for (int i = 0; i < 2000; ++i) {
    auto handle = timer.Schedule(Timer::Clock::now() + std::chrono::hours(1),
                                 [] { ADD_FAILURE() << "a cancelled callback ran"; });
    std::this_thread::yield();  // lets the woken thread reach its wait on this entry
    timer.Cancel(handle);
  }
  EXPECT_EQ(timer.pending(), 0u);
  Latch ran(1);
  timer.Schedule(Timer::Clock::now(), [&] { ran.Done(); });
  ran.Wait();
}

TEST(TimerTest, DestructorDropsPendingCallbacks) {
  auto owned = std::make_shared<int>(1);
  {
    Timer timer;
    timer.Schedule(Timer::Clock::now() + std::chrono::hours(1), [owned] {});
    EXPECT_EQ(owned.use_count(), 2);
  }
  EXPECT_EQ(owned.use_count(), 1);
}

TEST(TimerTest, CallbackMayScheduleAnother) {
  Timer timer;
  Latch ran(1);
  timer.Schedule(Timer::Clock::now(),
                 [&] { timer.Schedule(Timer::Clock::now(), [&] { ran.Done(); }); });
  ran.Wait();
}

}  // namespace
}  // namespace mosaic::client
