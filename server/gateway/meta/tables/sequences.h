#pragma once
// Blocks of sequence numbers claimed by gateways that share a database (PostgreSQL): the row
// `~seq/` <name> -> the next unclaimed number (8 bytes BE). A gateway claims kBlock numbers at
// a time and hands them out itself, so two gateways never write the same queue entry.

#include <cstdint>
#include <string_view>

#include "server/gateway/meta/row.h"

namespace mosaic::gateway::meta::sequences {

inline constexpr uint64_t kBlock = 4096;
inline constexpr std::string_view kDeletion = "deletion";

// Claims kBlock numbers of sequence `name` and returns the first: the row's next number, or
// `floor` if that is higher (numbers handed out before the row existed). Locks the row.
[[nodiscard]] absl::StatusOr<uint64_t> Claim(Transaction& t, std::string_view name, uint64_t floor);

}  // namespace mosaic::gateway::meta::sequences
