#include "server/gateway/meta/tables/leases.h"

#include "common/bytes.h"

namespace mosaic::gateway::meta::leases {
namespace {

constexpr std::string_view kPrefix = "~lease/";

absl::StatusOr<LeaseEntry> Parse(std::string_view value) {
  if (value.size() < 8) return absl::DataLossError("metadata: malformed lease");
  return LeaseEntry{std::string(value.substr(8)), LoadBE64(value.data())};
}

}  // namespace

absl::StatusOr<std::optional<LeaseEntry>> Get(Transaction& t, std::string_view job, bool lock) {
  std::string key = std::string(kPrefix) + std::string(job);
  ASSIGN_OR_RETURN(auto value, lock ? t.GetForUpdate(key) : t.Get(key));
  if (!value) return std::nullopt;
  return Parse(*value);
}

absl::Status Put(Transaction& t, std::string_view job, const LeaseEntry& lease) {
  std::string value;
  AppendBE64(value, lease.beat);
  value += lease.holder;
  return t.Put(std::string(kPrefix) + std::string(job), value);
}

absl::StatusOr<std::map<std::string, LeaseEntry>> List(Transaction& t) {
  std::map<std::string, LeaseEntry> out;
  RETURN_IF_ERROR(t.Scan(kPrefix, "",
                         [&](std::string_view key, std::string_view value) -> absl::StatusOr<bool> {
                           ASSIGN_OR_RETURN(LeaseEntry e, Parse(value));
                           out.emplace(std::string(key.substr(kPrefix.size())), std::move(e));
                           return true;
                         }));
  return out;
}

}  // namespace mosaic::gateway::meta::leases
