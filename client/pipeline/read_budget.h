#pragma once
// One read-ahead budget shared by every ObjectReader of a pipeline (every GET of a gateway),
// so that the memory held for stripes fetched ahead of slow or stalled consumers is bounded
// for the whole process, not per request.
//
// A reader that holds nothing and is being read may always take one stripe, even past the
// total: every reader makes progress, and a new client is served however many stalled ones
// hold the rest. Beyond that a reader may take more only while the budget has room and it
// holds no more than its share, total / readers: a reader whose consumer has stopped keeps
// at most its share, never the budget others need.
//
// Thread-safe; never blocks beyond its mutex.

#include <cstdint>
#include <mutex>

namespace mosaic::client {

class ReadBudget {
 public:
  explicit ReadBudget(uint64_t total_bytes) : total_(total_bytes) {}

  void AddReader();
  void RemoveReader();

  // Charges `cost` bytes to a reader that holds `held` bytes; false (nothing charged) when
  // the rules above refuse it. `must_progress`: the reader is being read (not opened ahead).
  [[nodiscard]] bool TryCharge(uint64_t held, uint64_t cost, bool must_progress);
  // Gives back bytes a reader charged.
  void Release(uint64_t cost);

  uint64_t used_bytes() const;
  uint64_t total_bytes() const { return total_; }

 private:
  const uint64_t total_;
  mutable std::mutex mu_;
  uint64_t used_ = 0;
  int readers_ = 0;
};

}  // namespace mosaic::client
