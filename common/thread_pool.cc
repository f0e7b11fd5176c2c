#include "common/thread_pool.h"

#include "common/thread_name.h"

namespace mosaic {

ThreadPool::ThreadPool(int threads, std::string name) {
  for (int i = 0; i < std::max(1, threads); ++i) {
    threads_.emplace_back([this, name] {
      SetCurrentThreadName(name);
      while (true) {
        absl::AnyInvocable<void() &&> task;
        {
          std::unique_lock lock(mu_);
          cv_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
          if (tasks_.empty()) return;
          task = std::move(tasks_.front());
          tasks_.pop_front();
        }
        std::move(task)();
      }
    });
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void ThreadPool::Submit(absl::AnyInvocable<void() &&> task) {
  {
    std::lock_guard lock(mu_);
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
}

}  // namespace mosaic
