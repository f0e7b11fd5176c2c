#pragma once
// One thread that runs short callbacks at given times: the pipeline's hedge and deadline
// wake-ups of stripe fetches, so that no worker thread waits on a slow node.
//
// Thread-safe. Callbacks run on the timer's thread, one at a time, and must not block (a
// slow callback delays every later one). The destructor runs nothing more and destroys the
// callbacks still pending.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/functional/any_invocable.h"

namespace mosaic::client {

class Timer {
 public:
  using Clock = std::chrono::steady_clock;
  using Handle = std::pair<Clock::time_point, uint64_t>;

  Timer();
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // Runs `fn` once at `when` (at once if past); the handle is for Cancel.
  Handle Schedule(Clock::time_point when, absl::AnyInvocable<void()> fn);
  // Drops a pending callback; nothing if it already ran or is running.
  void Cancel(const Handle& handle);
  size_t pending() const;

 private:
  void Run();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  uint64_t next_id_ = 0;
  std::map<Handle, absl::AnyInvocable<void()>> queue_;
  std::thread thread_;
};

}  // namespace mosaic::client
