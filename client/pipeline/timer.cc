#include "client/pipeline/timer.h"

namespace mosaic::client {

Timer::Timer() : thread_([this] { Run(); }) {}

Timer::~Timer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

Timer::Handle Timer::Schedule(Clock::time_point when, absl::AnyInvocable<void()> fn) {
  std::lock_guard lock(mu_);
  Handle handle{when, next_id_++};
  bool earliest = queue_.empty() || handle < queue_.begin()->first;
  queue_.emplace(handle, std::move(fn));
  if (earliest) cv_.notify_all();
  return handle;
}

void Timer::Cancel(const Handle& handle) {
  absl::AnyInvocable<void()> dropped;  // destroyed after the lock: it may own anything
  std::lock_guard lock(mu_);
  auto it = queue_.find(handle);
  if (it == queue_.end()) return;
  dropped = std::move(it->second);
  queue_.erase(it);
}

size_t Timer::pending() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void Timer::Run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (queue_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto it = queue_.begin();
    // A copy: wait_until reads its deadline again after waking, when Cancel may have erased
    // the entry whose key it would otherwise refer to (ASan: heap-use-after-free).
    const Clock::time_point due = it->first.first;
    if (due > Clock::now()) {
      cv_.wait_until(lock, due);
      continue;
    }
    absl::AnyInvocable<void()> fn = std::move(it->second);
    queue_.erase(it);
    lock.unlock();
    fn();
    fn = nullptr;  // its captures go before the lock is taken again
    lock.lock();
  }
}

}  // namespace mosaic::client
