#pragma once
// Background workers: every background job of a process is a Worker, a step function that
// says after each step whether it is busy (step again at once), throttled (step again after
// a given delay: a rate limit), idle (nothing to do: step again after the idle interval or
// when woken) or done (never step again). A WorkerRunner owns one thread per worker and
// runs its steps; the worker never writes its own thread or wait loop.
//
// Errors: a step that returns an error, or throws, is logged and the worker backs off
// (options.backoff_initial, doubled after each further failure up to options.backoff_max);
// a successful step ends the backoff. An exception never leaves the worker's thread.
//
// Stopping: WorkerRunner::Stop() lets a step in progress finish (a step that waits uses
// Pause(), which returns false at once when stopping), ends any wait at once, and joins.
// Wake() ends an idle, throttled or backoff wait at once ("a node went down").
//
// Threads: Step() runs on the runner's thread for this worker only; Detail() and every
// public method may be called from any thread. Waiting goes through a Waiter, which tests
// replace to control time.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace mosaic {

enum class WorkerState { kStarting, kBusy, kThrottled, kIdle, kBackoff, kDone, kStopped };
// "starting", "busy", "throttled", "idle", "backoff", "done", "stopped".
std::string_view WorkerStateName(WorkerState state);

// What a step reports.
struct WorkResult {
  WorkerState state = WorkerState::kIdle;  // kBusy, kThrottled, kIdle or kDone
  // kThrottled: the wait before the next step; kIdle: the same, 0 = the idle interval.
  std::chrono::milliseconds wait{0};

  static WorkResult Busy() { return {WorkerState::kBusy, {}}; }
  static WorkResult Throttled(std::chrono::milliseconds wait) {
    return {WorkerState::kThrottled, wait};
  }
  static WorkResult Idle(std::chrono::milliseconds wait = {}) { return {WorkerState::kIdle, wait}; }
  static WorkResult Done() { return {WorkerState::kDone, {}}; }
};

// A worker as `mosaic status` shows it.
struct WorkerStatus {
  std::string name;
  WorkerState state = WorkerState::kStarting;
  std::string detail;      // the worker's own words: backlog, progress ("" = none)
  std::string last_error;  // of the last failed step; "" once a step succeeded
  uint32_t errors_in_a_row = 0;
  uint64_t steps = 0;         // steps run
  int64_t next_step_ms = -1;  // wait before the next step when it was scheduled; -1: none
  // With a gate (Worker::SetGate): whether another process leads the job, and who leads it.
  bool standby = false;
  std::string leader;
};
// "repair: idle (next in 2 s); 3 stripes queued", "deleter: backoff after 2 errors (next in
// 4 s): UNAVAILABLE: …", "repair: standby, led by gw-b (next in 10 s)".
std::string WorkerStatusLine(const WorkerStatus& status);

// How a worker's thread waits. The real one waits on the condition variable with a timeout.
class Waiter {
 public:
  virtual ~Waiter() = default;
  // Called with `lock` held (on `cv`'s mutex); returns with it held once `ready()` is true or
  // `delay` has passed. `ready` is evaluated with the lock held.
  virtual void WaitFor(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                       std::chrono::milliseconds delay, const std::function<bool()>& ready) = 0;
};
// The system's steady clock. Shared, stateless.
Waiter& RealWaiter();

class Worker {
 public:
  struct Options {
    std::chrono::milliseconds idle_wait{std::chrono::seconds(10)};  // after an idle step
    std::chrono::milliseconds first_wait{0};                        // before the first step
    std::chrono::milliseconds backoff_initial{std::chrono::seconds(1)};
    std::chrono::milliseconds backoff_max{std::chrono::minutes(5)};
  };

  Worker(std::string name, Options options);
  virtual ~Worker() = default;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // One unit of work, on the runner's thread. An error (or an exception) means: back off.
  virtual absl::StatusOr<WorkResult> Step() = 0;
  // A short line on the work (backlog, progress) for status; "" by default. Any thread.
  virtual std::string Detail() const { return ""; }

  const std::string& name() const { return name_; }
  // Leadership (issue 17: one leader per job among gateways sharing a database): with a gate,
  // a step runs only while `leads()` is true; otherwise the worker stands by (status
  // `standby`, naming `leader()`) and asks again after its idle interval or when woken (the
  // lease's keeper wakes it when this process becomes the leader). Both are called on the
  // worker's thread, without the worker's lock, and must not block long. Set before Run.
  struct Gate {
    std::function<bool()> leads;
    std::function<std::string()> leader;
  };
  void SetGate(Gate gate);
  // Ends the current wait (idle, throttled, backoff, or a Pause) so that work starts now; a
  // wake during a step makes the next step run at once. Any thread; never blocks long.
  void Wake();
  WorkerStatus status() const;

 protected:
  // Waits up to `delay` within a step (a rate limit), through the worker's Waiter; returns
  // false, at once, when the worker is stopping. A Wake does not end it. Any thread.
  bool Pause(std::chrono::milliseconds delay);
  bool stopping() const;

 private:
  friend class WorkerRunner;
  void Run(Waiter& waiter);  // the thread's body: steps until done or stopped
  void RequestStop();
  // Records a step's outcome; returns the wait before the next step, or nullopt when done.
  std::optional<std::chrono::milliseconds> Settle(const absl::StatusOr<WorkResult>& result);
  absl::StatusOr<WorkResult> StepCaught();

  const std::string name_;
  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  Waiter* waiter_ = &RealWaiter();  // under mu_
  bool stopping_ = false;
  bool woken_ = false;
  WorkerStatus status_;
  std::string detail_;
  Gate gate_;
};

// A worker made of functions, for jobs with more than one loop.
class FunctionWorker final : public Worker {
 public:
  FunctionWorker(std::string name, Options options,
                 std::function<absl::StatusOr<WorkResult>()> step,
                 std::function<std::string()> detail = nullptr);
  absl::StatusOr<WorkResult> Step() override { return step_(); }
  std::string Detail() const override { return detail_ ? detail_() : ""; }
  using Worker::Pause;
  using Worker::stopping;

 private:
  std::function<absl::StatusOr<WorkResult>()> step_;
  std::function<std::string()> detail_;
};

// Owns the threads of a set of workers. Thread-safe.
class WorkerRunner {
 public:
  explicit WorkerRunner(Waiter& waiter = RealWaiter());
  ~WorkerRunner();  // Stop()s
  WorkerRunner(const WorkerRunner&) = delete;
  WorkerRunner& operator=(const WorkerRunner&) = delete;

  // Starts a thread stepping `worker` until it is done or the runner stops. `worker` must
  // outlive Stop(); a worker is run by one runner, once. Ignored after Stop().
  void Run(Worker& worker);
  // Stops every worker (a step in progress finishes first; waits end at once) and joins
  // their threads. Idempotent.
  void Stop();
  // Every worker run, in the order of Run(); none after Stop().
  std::vector<WorkerStatus> Statuses() const;

 private:
  Waiter& waiter_;
  mutable std::mutex mu_;
  bool stopped_ = false;
  std::vector<Worker*> workers_;
  std::vector<std::thread> threads_;
};

}  // namespace mosaic
