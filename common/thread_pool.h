#pragma once
// A fixed pool of threads running queued tasks in FIFO order. Tasks may block (waiting for
// network replies, say); size the pool for that. Thread-safe. The destructor finishes every
// queued task, then joins. Its threads carry `name` (common/thread_name.h: ≤ 15 bytes kept),
// so that a profile or a thread sampler shows whose they are.

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"

namespace mosaic {

class ThreadPool {
 public:
  ThreadPool(int threads, std::string name);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Submit(absl::AnyInvocable<void() &&> task);
  int size() const { return static_cast<int>(threads_.size()); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<absl::AnyInvocable<void() &&>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace mosaic
