#include "common/worker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

#include "common/thread_name.h"

namespace mosaic {
namespace {

class SteadyWaiter final : public Waiter {
 public:
  void WaitFor(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
               std::chrono::milliseconds delay, const std::function<bool()>& ready) override {
    cv.wait_for(lock, delay, ready);
  }
};

std::string Seconds(int64_t ms) {
  if (ms % 1000 == 0 || ms >= 10'000) return std::to_string((ms + 500) / 1000) + " s";
  return std::to_string(ms) + " ms";
}

}  // namespace

std::string_view WorkerStateName(WorkerState state) {
  switch (state) {
    case WorkerState::kStarting:
      return "starting";
    case WorkerState::kBusy:
      return "busy";
    case WorkerState::kThrottled:
      return "throttled";
    case WorkerState::kIdle:
      return "idle";
    case WorkerState::kBackoff:
      return "backoff";
    case WorkerState::kDone:
      return "done";
    case WorkerState::kStopped:
      return "stopped";
  }
  return "unknown";
}

std::string WorkerStatusLine(const WorkerStatus& s) {
  std::string out = s.name + ": " + std::string(WorkerStateName(s.state));
  if (s.standby) out = s.name + ": standby, led by " + (s.leader.empty() ? "nobody yet" : s.leader);
  if (s.state == WorkerState::kBackoff) {
    out += " after " + std::to_string(s.errors_in_a_row) +
           (s.errors_in_a_row == 1 ? " error" : " errors");
  }
  if (s.next_step_ms > 0) out += " (next in " + Seconds(s.next_step_ms) + ")";
  if (!s.detail.empty()) out += "; " + s.detail;
  if (!s.last_error.empty()) out += "; last error: " + s.last_error;
  return out;
}

Waiter& RealWaiter() {
  static SteadyWaiter waiter;
  return waiter;
}

Worker::Worker(std::string name, Options options) : name_(std::move(name)), options_(options) {
  status_.name = name_;
}

void Worker::SetGate(Gate gate) {
  std::lock_guard lock(mu_);
  gate_ = std::move(gate);
}

void Worker::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

WorkerStatus Worker::status() const {
  std::string detail = Detail();  // the job's own lock, not ours
  // Leadership as it is now, also while the worker waits (its gate is set before Run).
  bool standby = gate_.leads && !gate_.leads();
  std::string leader = gate_.leader ? gate_.leader() : "";
  std::lock_guard lock(mu_);
  WorkerStatus s = status_;
  s.detail = std::move(detail);
  s.standby = standby;
  s.leader = std::move(leader);
  return s;
}

bool Worker::Pause(std::chrono::milliseconds delay) {
  std::unique_lock lock(mu_);
  if (stopping_) return false;
  if (delay.count() > 0) waiter_->WaitFor(lock, cv_, delay, [this] { return stopping_; });
  return !stopping_;
}

bool Worker::stopping() const {
  std::lock_guard lock(mu_);
  return stopping_;
}

void Worker::RequestStop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
}

absl::StatusOr<WorkResult> Worker::StepCaught() {
  try {
    return Step();
  } catch (const std::exception& e) {
    return absl::InternalError(std::string("exception: ") + e.what());
  } catch (...) {
    return absl::InternalError("unknown exception");
  }
}

std::optional<std::chrono::milliseconds> Worker::Settle(const absl::StatusOr<WorkResult>& result) {
  ++status_.steps;
  if (!result.ok()) {
    ++status_.errors_in_a_row;
    status_.state = WorkerState::kBackoff;
    status_.last_error = result.status().ToString();
    int shift = int(std::min<uint32_t>(status_.errors_in_a_row - 1, 30));
    auto backoff =
        std::min<int64_t>(options_.backoff_max.count(), options_.backoff_initial.count() << shift);
    spdlog::warn("{}: step failed ({} in a row), retrying in {} ms: {}", name_,
                 status_.errors_in_a_row, backoff, status_.last_error);
    return std::chrono::milliseconds(backoff);
  }
  status_.errors_in_a_row = 0;
  status_.last_error.clear();
  status_.state = result->state;
  switch (result->state) {
    case WorkerState::kDone:
      return std::nullopt;
    case WorkerState::kThrottled:
      return result->wait;
    case WorkerState::kIdle:
      return result->wait.count() > 0 ? result->wait : options_.idle_wait;
    default:
      return std::chrono::milliseconds(0);
  }
}

void Worker::Run(Waiter& waiter) {
  std::unique_lock lock(mu_);
  waiter_ = &waiter;
  std::chrono::milliseconds wait = options_.first_wait;
  for (;;) {
    if (wait.count() > 0 && !stopping_ && !woken_) {
      status_.next_step_ms = wait.count();
      waiter.WaitFor(lock, cv_, wait, [this] { return stopping_ || woken_; });
    }
    status_.next_step_ms = -1;
    if (stopping_) break;
    woken_ = false;
    if (gate_.leads) {
      lock.unlock();
      bool leads = gate_.leads();
      lock.lock();
      if (!leads) {
        status_.state = WorkerState::kIdle;
        wait = options_.idle_wait;
        continue;
      }
    }
    status_.state = WorkerState::kBusy;
    lock.unlock();
    absl::StatusOr<WorkResult> result = StepCaught();
    lock.lock();
    std::optional<std::chrono::milliseconds> next = Settle(result);
    if (!next) return;
    wait = *next;
  }
  status_.state = WorkerState::kStopped;
}

FunctionWorker::FunctionWorker(std::string name, Options options,
                               std::function<absl::StatusOr<WorkResult>()> step,
                               std::function<std::string()> detail)
    : Worker(std::move(name), options), step_(std::move(step)), detail_(std::move(detail)) {}

WorkerRunner::WorkerRunner(Waiter& waiter) : waiter_(waiter) {}

WorkerRunner::~WorkerRunner() { Stop(); }

void WorkerRunner::Run(Worker& worker) {
  std::lock_guard lock(mu_);
  if (stopped_) return;
  workers_.push_back(&worker);
  threads_.emplace_back([&worker, &waiter = waiter_] {
    SetCurrentThreadName(worker.name());
    worker.Run(waiter);
  });
}

void WorkerRunner::Stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    threads.swap(threads_);
    for (Worker* w : workers_) w->RequestStop();
  }
  for (std::thread& t : threads) t.join();
  std::lock_guard lock(mu_);
  workers_.clear();  // they may be destroyed now
}

std::vector<WorkerStatus> WorkerRunner::Statuses() const {
  std::vector<Worker*> workers;
  {
    std::lock_guard lock(mu_);
    workers = workers_;
  }
  std::vector<WorkerStatus> out;
  for (const Worker* w : workers) out.push_back(w->status());
  return out;
}

}  // namespace mosaic
