#include "server/gateway/meta/tables/sequences.h"

#include <algorithm>

#include "common/bytes.h"

namespace mosaic::gateway::meta::sequences {

absl::StatusOr<uint64_t> Claim(Transaction& t, std::string_view name, uint64_t floor) {
  std::string key = "~seq/" + std::string(name);
  ASSIGN_OR_RETURN(auto value, t.GetForUpdate(key));
  if (value && value->size() != 8) return absl::DataLossError("metadata: malformed " + key);
  uint64_t first = std::max(value ? LoadBE64(value->data()) : 0, floor);
  std::string next;
  AppendBE64(next, first + kBlock);
  RETURN_IF_ERROR(t.Put(key, next));
  return first;
}

}  // namespace mosaic::gateway::meta::sequences
