#pragma once
// Login throttling for the console (issue 15): failed logins are counted per member name and
// per client address; past kFreeFailures within kWindowMs, each further attempt must wait
// 2^(failures - kFreeFailures) seconds, at most kMaxDelayMs. A successful login clears the
// name's count (not the address's: one address guessing many names stays slowed).
// In memory only (a restart forgets it), bounded to kMaxEntries keys. Thread-safe.

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace mosaic::gateway::console {

class LoginThrottle {
 public:
  static constexpr int kFreeFailures = 5;
  static constexpr int64_t kWindowMs = 15 * 60 * 1000;
  static constexpr int64_t kMaxDelayMs = 15 * 60 * 1000;
  static constexpr size_t kMaxEntries = 100000;

  // 0 when a login for `name` from `address` may be tried at `now_ms`, else how many
  // milliseconds to wait.
  int64_t RetryAfterMs(const std::string& name, const std::string& address, int64_t now_ms) const;
  void Failed(const std::string& name, const std::string& address, int64_t now_ms);
  void Succeeded(const std::string& name);

 private:
  struct Entry {
    int failures = 0;
    int64_t last_ms = 0;
  };
  int64_t WaitFor(const std::string& key, int64_t now_ms) const;  // mu_ held
  void Count(const std::string& key, int64_t now_ms);             // mu_ held

  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // "n:" name or "a:" address
};

}  // namespace mosaic::gateway::console
