#include "server/gateway/meta/tables/scrub_findings.h"

#include <string>

#include "server/gateway/meta/tables/audit.h"

namespace mosaic::gateway::meta::scrub_findings {
namespace {
constexpr std::string_view kPrefix = "~scrub/";
}  // namespace

absl::Status Append(Transaction& t, const v1::ScrubFindingRecord& r) {
  return PutRow(t, audit::TimeOrderedKey(kPrefix, r.time_ms()), r);
}

absl::StatusOr<size_t> Trim(Transaction& t, size_t keep) {
  // Forward scans only: collect every key (the table stays near `keep` rows), drop the oldest.
  std::vector<std::string> keys;
  RETURN_IF_ERROR(t.Scan(kPrefix, "", [&](std::string_view key, std::string_view) {
    keys.emplace_back(key);
    return absl::StatusOr<bool>(true);
  }));
  size_t excess = keys.size() > keep ? keys.size() - keep : 0;
  for (size_t i = 0; i < excess; ++i) RETURN_IF_ERROR(t.Delete(keys[i]));
  return excess;
}

absl::StatusOr<std::vector<v1::ScrubFindingRecord>> Newest(Transaction& t, size_t limit) {
  return audit::LastRows<v1::ScrubFindingRecord>(t, kPrefix, limit, "scrub finding");
}

}  // namespace mosaic::gateway::meta::scrub_findings
