#include "common/worker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <future>
#include <stdexcept>

namespace mosaic {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Time moves only when the test says so: a wait ends when the worker's own condition holds
// (stop, wake) or when the test releases it. Records every delay asked for.
class FakeWaiter final : public Waiter {
 public:
  void WaitFor(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, milliseconds delay,
               const std::function<bool()>& ready) override {
    uint64_t ticket = released_.load();
    {
      std::lock_guard g(mu_);
      delays_.push_back(delay);
      worker_mu_ = lock.mutex();
      worker_cv_ = &cv;
    }
    seen_.notify_all();
    cv.wait(lock, [&] { return ready() || released_.load() > ticket; });
  }

  // Ends the wait in progress as if its delay had passed.
  void Release() {
    std::mutex* m;
    std::condition_variable* cv;
    {
      std::lock_guard g(mu_);
      m = worker_mu_;
      cv = worker_cv_;
    }
    ASSERT_NE(m, nullptr);
    {
      std::lock_guard g(*m);
      ++released_;
    }
    cv->notify_all();
  }

  // Blocks until `n` waits began (bounded: false after a minute, so a bug fails, not hangs).
  bool AwaitWaits(size_t n) {
    std::unique_lock g(mu_);
    return seen_.wait_for(g, seconds(60), [&] { return delays_.size() >= n; });
  }

  std::vector<milliseconds> delays() {
    std::lock_guard g(mu_);
    return delays_;
  }

 private:
  std::mutex mu_;
  std::condition_variable seen_;
  std::vector<milliseconds> delays_;
  std::mutex* worker_mu_ = nullptr;
  std::condition_variable* worker_cv_ = nullptr;
  std::atomic<uint64_t> released_{0};
};

using Outcome = std::function<absl::StatusOr<WorkResult>()>;

// Steps through a script; after it, idles for an hour.
class ScriptedWorker final : public Worker {
 public:
  ScriptedWorker(Options options, std::deque<Outcome> script)
      : Worker("scripted", options), script_(std::move(script)) {}
  absl::StatusOr<WorkResult> Step() override {
    ++steps;
    if (script_.empty()) return WorkResult::Idle(std::chrono::hours(1));
    Outcome next = std::move(script_.front());
    script_.pop_front();
    return next();
  }
  std::string Detail() const override { return "3 things queued"; }
  bool PauseFor(milliseconds d) { return Pause(d); }

  std::atomic<int> steps{0};

 private:
  std::deque<Outcome> script_;
};

Outcome Returns(WorkResult r) {
  return [r] { return r; };
}
Outcome Fails(std::string why) {
  return [why]() -> absl::StatusOr<WorkResult> { return absl::UnavailableError(why); };
}

Worker::Options Opts() {
  Worker::Options o;
  o.idle_wait = seconds(10);
  o.backoff_initial = seconds(1);
  o.backoff_max = seconds(5);
  return o;
}

TEST(WorkerTest, BusyRunsAtOnceIdleAndThrottledWaitWhatTheySay) {
  FakeWaiter waiter;
  std::promise<void> last_step;
  ScriptedWorker w(
      Opts(),
      {Returns(WorkResult::Busy()), Returns(WorkResult::Busy()), Returns(WorkResult::Idle()),
       Returns(WorkResult::Throttled(milliseconds(250))), [&]() -> absl::StatusOr<WorkResult> {
         last_step.set_value();
         return WorkResult::Done();
       }});
  WorkerRunner runner(waiter);
  runner.Run(w);
  ASSERT_TRUE(waiter.AwaitWaits(1));
  EXPECT_EQ(w.steps.load(), 3);  // two busy steps ran back to back, without a wait
  EXPECT_EQ(waiter.delays()[0], seconds(10));
  EXPECT_EQ(w.status().state, WorkerState::kIdle);
  EXPECT_EQ(w.status().next_step_ms, 10'000);
  waiter.Release();
  ASSERT_TRUE(waiter.AwaitWaits(2));
  EXPECT_EQ(waiter.delays()[1], milliseconds(250));
  EXPECT_EQ(w.status().state, WorkerState::kThrottled);
  waiter.Release();
  ASSERT_EQ(last_step.get_future().wait_for(seconds(60)), std::future_status::ready);
  runner.Stop();  // after the done step: the worker ended by itself
  EXPECT_EQ(w.steps.load(), 5);
  EXPECT_EQ(w.status().state, WorkerState::kDone);
  EXPECT_EQ(waiter.delays().size(), 2u);
}

TEST(WorkerTest, ErrorsBackOffDoublingUpToTheCapAndASuccessEndsTheBackoff) {
  FakeWaiter waiter;
  ScriptedWorker w(Opts(), {Fails("a"), Fails("b"), Fails("c"), Fails("d"), Fails("e"),
                            Returns(WorkResult::Idle())});
  WorkerRunner runner(waiter);
  runner.Run(w);
  for (size_t i = 1; i <= 5; ++i) {
    ASSERT_TRUE(waiter.AwaitWaits(i));
    if (i == 2) {
      WorkerStatus s = w.status();
      EXPECT_EQ(s.state, WorkerState::kBackoff);
      EXPECT_EQ(s.errors_in_a_row, 2u);
      EXPECT_EQ(s.last_error, "UNAVAILABLE: b");
      EXPECT_EQ(WorkerStatusLine(s),
                "scripted: backoff after 2 errors (next in 2 s); 3 things queued; "
                "last error: UNAVAILABLE: b");
    }
    waiter.Release();
  }
  ASSERT_TRUE(waiter.AwaitWaits(6));
  std::vector<milliseconds> want = {seconds(1), seconds(2), seconds(4),
                                    seconds(5), seconds(5), seconds(10)};
  EXPECT_EQ(waiter.delays(), want);
  WorkerStatus s = w.status();
  EXPECT_EQ(s.state, WorkerState::kIdle);
  EXPECT_EQ(s.errors_in_a_row, 0u);
  EXPECT_EQ(s.last_error, "");
}

TEST(WorkerTest, AnExceptionInAStepIsCaughtAndBacksOff) {
  FakeWaiter waiter;
  ScriptedWorker w(Opts(),
                   {[]() -> absl::StatusOr<WorkResult> { throw std::runtime_error("boom"); },
                    Returns(WorkResult::Idle())});
  WorkerRunner runner(waiter);
  runner.Run(w);
  ASSERT_TRUE(waiter.AwaitWaits(1));
  EXPECT_EQ(waiter.delays()[0], seconds(1));
  EXPECT_EQ(w.status().last_error, "INTERNAL: exception: boom");
  waiter.Release();
  ASSERT_TRUE(waiter.AwaitWaits(2));  // the thread lives on and steps again
  EXPECT_EQ(w.steps.load(), 2);
  EXPECT_EQ(w.status().state, WorkerState::kIdle);
}

TEST(WorkerTest, StopEndsALongIdleWaitAtOnce) {
  FakeWaiter waiter;  // never lets time pass: only the stop can end the wait
  ScriptedWorker w(Opts(), {});
  WorkerRunner runner(waiter);
  runner.Run(w);
  ASSERT_TRUE(waiter.AwaitWaits(1));
  EXPECT_EQ(waiter.delays()[0], std::chrono::hours(1));
  runner.Stop();
  EXPECT_EQ(w.status().state, WorkerState::kStopped);
  EXPECT_EQ(w.steps.load(), 1);
  EXPECT_TRUE(runner.Statuses().empty());
}

TEST(WorkerTest, StopEndsALongIdleWaitOnTheRealClock) {
  ScriptedWorker w(Opts(), {});
  WorkerRunner runner;  // the hour-long idle wait would hang this test if Stop did not end it
  runner.Run(w);
  runner.Stop();
  EXPECT_EQ(w.status().state, WorkerState::kStopped);
}

TEST(WorkerTest, WakeEndsTheWaitAndStepsAgain) {
  FakeWaiter waiter;
  ScriptedWorker w(Opts(), {});
  WorkerRunner runner(waiter);
  runner.Run(w);
  ASSERT_TRUE(waiter.AwaitWaits(1));
  w.Wake();
  ASSERT_TRUE(waiter.AwaitWaits(2));
  EXPECT_EQ(w.steps.load(), 2);
}

TEST(WorkerTest, AGatedWorkerStandsByUntilItLeadsAndSaysWhoLeads) {
  FakeWaiter waiter;
  ScriptedWorker w(Opts(), {});
  std::atomic<bool> leads{false};
  w.SetGate({[&] { return leads.load(); }, [] { return std::string("gw-b"); }});
  WorkerRunner runner(waiter);
  runner.Run(w);
  ASSERT_TRUE(waiter.AwaitWaits(1));
  EXPECT_EQ(w.steps.load(), 0);  // another gateway leads: no step
  EXPECT_EQ(waiter.delays()[0], seconds(10));
  WorkerStatus s = w.status();
  EXPECT_TRUE(s.standby);
  EXPECT_EQ(s.leader, "gw-b");
  EXPECT_NE(WorkerStatusLine(s).find("standby, led by gw-b"), std::string::npos)
      << WorkerStatusLine(s);
  leads = true;
  w.Wake();  // as the lease keeper does when this gateway takes the lease
  ASSERT_TRUE(waiter.AwaitWaits(2));
  EXPECT_EQ(w.steps.load(), 1);
  EXPECT_FALSE(w.status().standby);
}

TEST(WorkerTest, FirstWaitComesBeforeTheFirstStep) {
  FakeWaiter waiter;
  Worker::Options o = Opts();
  o.first_wait = seconds(30);
  ScriptedWorker w(o, {});
  WorkerRunner runner(waiter);
  runner.Run(w);
  ASSERT_TRUE(waiter.AwaitWaits(1));
  EXPECT_EQ(waiter.delays()[0], seconds(30));
  EXPECT_EQ(w.steps.load(), 0);
  EXPECT_EQ(w.status().state, WorkerState::kStarting);
}

TEST(WorkerTest, PauseInAStepReturnsFalseWhenStopping) {
  FakeWaiter waiter;
  std::atomic<int> paused{-1};
  ScriptedWorker* self = nullptr;
  ScriptedWorker w(Opts(), {[&]() -> absl::StatusOr<WorkResult> {
                     paused = self->PauseFor(std::chrono::hours(1)) ? 1 : 0;
                     return WorkResult::Busy();
                   }});
  self = &w;
  WorkerRunner runner(waiter);
  runner.Run(w);
  ASSERT_TRUE(waiter.AwaitWaits(1));  // the pause
  EXPECT_EQ(waiter.delays()[0], std::chrono::hours(1));
  runner.Stop();
  EXPECT_EQ(paused.load(), 0);
  EXPECT_EQ(w.steps.load(), 1);  // stopped: no step after the paused one
}

TEST(WorkerTest, StatusLineSaysStateWaitAndDetail) {
  WorkerStatus s;
  s.name = "repair";
  s.state = WorkerState::kIdle;
  s.next_step_ms = 2000;
  s.detail = "0 stripes queued";
  EXPECT_EQ(WorkerStatusLine(s), "repair: idle (next in 2 s); 0 stripes queued");
  s.state = WorkerState::kBusy;
  s.next_step_ms = -1;
  s.detail = "";
  EXPECT_EQ(WorkerStatusLine(s), "repair: busy");
}

}  // namespace
}  // namespace mosaic
