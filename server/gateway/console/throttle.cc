#include "server/gateway/console/throttle.h"

#include <algorithm>

namespace mosaic::gateway::console {

int64_t LoginThrottle::WaitFor(const std::string& key, int64_t now_ms) const {
  auto it = entries_.find(key);
  if (it == entries_.end() || now_ms - it->second.last_ms > kWindowMs) return 0;
  int over = it->second.failures - kFreeFailures;
  if (over < 0) return 0;
  int64_t delay = over >= 20 ? kMaxDelayMs : std::min<int64_t>(kMaxDelayMs, 1000LL << over);
  return std::max<int64_t>(0, it->second.last_ms + delay - now_ms);
}

int64_t LoginThrottle::RetryAfterMs(const std::string& name, const std::string& address,
                                    int64_t now_ms) const {
  std::lock_guard lock(mu_);
  return std::max(WaitFor("n:" + name, now_ms), WaitFor("a:" + address, now_ms));
}

void LoginThrottle::Count(const std::string& key, int64_t now_ms) {
  Entry& e = entries_[key];
  if (now_ms - e.last_ms > kWindowMs) e.failures = 0;
  ++e.failures;
  e.last_ms = now_ms;
}

void LoginThrottle::Failed(const std::string& name, const std::string& address, int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (entries_.size() >= kMaxEntries) {
    std::erase_if(entries_, [&](const auto& kv) { return now_ms - kv.second.last_ms > kWindowMs; });
    // Still full: an attack on many names at once; start over rather than grow.
    if (entries_.size() >= kMaxEntries) entries_.clear();
  }
  Count("n:" + name, now_ms);
  Count("a:" + address, now_ms);
}

void LoginThrottle::Succeeded(const std::string& name) {
  std::lock_guard lock(mu_);
  entries_.erase("n:" + name);
}

}  // namespace mosaic::gateway::console
