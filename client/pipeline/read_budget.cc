#include "client/pipeline/read_budget.h"

#include <algorithm>

#include "common/check.h"

namespace mosaic::client {

void ReadBudget::AddReader() {
  std::lock_guard lock(mu_);
  ++readers_;
}

void ReadBudget::RemoveReader() {
  std::lock_guard lock(mu_);
  CHECK(readers_ > 0);
  --readers_;
}

bool ReadBudget::TryCharge(uint64_t held, uint64_t cost, bool must_progress) {
  std::lock_guard lock(mu_);
  if (!(must_progress && held == 0)) {
    const uint64_t share = total_ / uint64_t(std::max(readers_, 1));
    if (used_ + cost > total_ || held + cost > share) return false;
  }
  used_ += cost;
  return true;
}

void ReadBudget::Release(uint64_t cost) {
  std::lock_guard lock(mu_);
  CHECK(used_ >= cost);
  used_ -= cost;
}

uint64_t ReadBudget::used_bytes() const {
  std::lock_guard lock(mu_);
  return used_;
}

}  // namespace mosaic::client
