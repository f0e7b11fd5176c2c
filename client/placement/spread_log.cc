#include "client/placement/spread_log.h"

namespace mosaic::client {
namespace {

// "stripe 3 has 2 shards at provider a (nodes a-1, a-1)"
std::string DescribeStripe(size_t index,
                           const std::map<std::string, std::vector<std::string>>& doubled) {
  std::string out = "stripe " + std::to_string(index) + " has ";
  bool first = true;
  for (const auto& [provider, nodes] : doubled) {
    out += first ? "" : " and ";
    out += std::to_string(nodes.size()) + " shards at provider " + provider + " (nodes ";
    for (size_t i = 0; i < nodes.size(); ++i) out += (i ? ", " : "") + nodes[i];
    out += ")";
    first = false;
  }
  return out;
}

}  // namespace

std::map<std::string, std::vector<std::string>> DoubledProviders(
    const std::vector<ShardHolder>& stripe) {
  std::map<std::string, std::vector<std::string>> by_provider;
  for (const auto& [node, provider] : stripe) by_provider[provider].push_back(node);
  std::erase_if(by_provider, [](const auto& entry) { return entry.second.size() < 2; });
  return by_provider;
}

SpreadLog::SpreadLog(std::chrono::milliseconds min_interval, Clock now)
    : min_interval_(min_interval), now_(std::move(now)) {}

std::optional<std::string> SpreadLog::Record(std::string_view object,
                                             const std::vector<std::vector<ShardHolder>>& stripes,
                                             const std::function<int()>& usable_providers) {
  uint64_t doubled = 0;
  std::string first;
  size_t shards = 0;
  for (size_t i = 0; i < stripes.size(); ++i) {
    auto providers = DoubledProviders(stripes[i]);
    if (providers.empty()) continue;
    if (doubled++ == 0) first = DescribeStripe(i, providers);
    shards = stripes[i].size();
  }
  if (doubled == 0) return std::nullopt;
  doubled_stripes_.fetch_add(doubled);
  if (counter_ != nullptr) counter_->Inc(doubled);
  std::lock_guard lock(mu_);
  auto now = now_();
  if (last_line_ && now - *last_line_ < min_interval_) {
    ++skipped_objects_;
    return std::nullopt;
  }
  last_line_ = now;
  std::string line = "object " + std::string(object) + " written under-spread: " + first + "; " +
                     std::to_string(doubled) + " of its " + std::to_string(stripes.size()) +
                     " stripe(s) doubled up (" + std::to_string(usable_providers()) +
                     " usable provider(s) for " + std::to_string(shards) +
                     " shards a stripe); they survive fewer provider losses until moved back";
  if (skipped_objects_ > 0) {
    line += " (" + std::to_string(skipped_objects_) + " more such write(s) since the last line)";
    skipped_objects_ = 0;
  }
  return line;
}

}  // namespace mosaic::client
