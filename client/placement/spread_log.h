#pragma once
// Writes whose placement had to put two shards or more of a stripe at one provider (fewer
// usable providers than shards, a full node or a down one moving a shard to the next
// candidate, a drain): counted per stripe, and described in one log line per written object,
// at most one line per `min_interval` (the lines skipped in between are counted in the next).
// Such stripes survive fewer provider losses; the gateway's status shows them under-spread
// and the repairer moves them back once a provider can take the shard.
//
// Thread-safe: writers of any thread call Record.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/metrics.h"

namespace mosaic::client {

// One shard's place: (node id, provider).
using ShardHolder = std::pair<std::string, std::string>;

// The providers holding two shards or more of a stripe, each with its nodes (in shard
// order); empty when every shard is at a provider of its own. Pure.
std::map<std::string, std::vector<std::string>> DoubledProviders(
    const std::vector<ShardHolder>& stripe);

class SpreadLog {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  explicit SpreadLog(
      std::chrono::milliseconds min_interval = std::chrono::seconds(10),
      Clock now = [] { return std::chrono::steady_clock::now(); });

  // Counts each doubled-up stripe here too (mosaic_gateway_stripes_written_doubled_total).
  // `counter` must outlive this log. Call before writes start.
  void SetCounter(metrics::Counter* counter) { counter_ = counter; }

  // Records the placement of a written object's stripes (`stripes[i]` is stripe i's shards).
  // `object` names it in the line; `usable_providers` says how many providers can take new
  // shards now. Returns the line to log ("object …: stripe 0 has 2 shards at
  // provider a (nodes a-1, a-2), …"), or nullopt when nothing doubled up or a line was made
  // less than min_interval ago.
  // `usable_providers` is asked only for a line.
  std::optional<std::string> Record(std::string_view object,
                                    const std::vector<std::vector<ShardHolder>>& stripes,
                                    const std::function<int()>& usable_providers);

  // Stripes written with two shards at one provider, since start.
  uint64_t doubled_stripes() const { return doubled_stripes_.load(); }

 private:
  const std::chrono::milliseconds min_interval_;
  const Clock now_;
  metrics::Counter* counter_ = nullptr;
  std::atomic<uint64_t> doubled_stripes_{0};
  std::mutex mu_;
  std::optional<std::chrono::steady_clock::time_point> last_line_;  // under mu_
  uint64_t skipped_objects_ = 0;                                    // under mu_
};

}  // namespace mosaic::client
