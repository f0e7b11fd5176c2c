#pragma once
// Waits for a known number of asynchronous completions (callbacks on other threads).
// Thread-safe. Share it (std::shared_ptr) with callbacks that may outlive the waiter.

#include <condition_variable>
#include <mutex>

namespace mosaic {

class Latch {
 public:
  explicit Latch(int count) : left_(count) {}
  // One completion; wakes the waiter at the last.
  void Done() {
    std::lock_guard lock(mu_);
    if (--left_ == 0) cv_.notify_all();
  }
  // Blocks until every completion arrived (at once if the count was 0).
  void Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return left_ <= 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int left_;
};

}  // namespace mosaic
