#pragma once
// Table of console members: `M` <name> -> MemberRecord (the console, issue 15).

#include <optional>
#include <string>
#include <vector>

#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/meta/row.h"

namespace mosaic::gateway::meta::members {

absl::StatusOr<std::optional<v1::MemberRecord>> Get(Transaction& t, const std::string& name,
                                                    std::optional<Transaction::Lock> lock = {});
absl::Status Put(Transaction& t, const v1::MemberRecord& r);
absl::Status Delete(Transaction& t, const std::string& name);
// Every row, in name order.
absl::StatusOr<std::vector<v1::MemberRecord>> List(Transaction& t);

}  // namespace mosaic::gateway::meta::members
