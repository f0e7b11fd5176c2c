#pragma once
// Table of access keys: `a` <access key id> -> AccessKeyRecord (secret sealed).

#include <optional>
#include <string>
#include <vector>

#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/meta/row.h"

namespace mosaic::gateway::meta::access_keys {

absl::StatusOr<std::optional<v1::AccessKeyRecord>> Get(Transaction& t, const std::string& id,
                                                       std::optional<Transaction::Lock> lock = {});
absl::Status Put(Transaction& t, const v1::AccessKeyRecord& r);
absl::Status Delete(Transaction& t, const std::string& id);
absl::StatusOr<std::vector<v1::AccessKeyRecord>> List(Transaction& t);

}  // namespace mosaic::gateway::meta::access_keys
