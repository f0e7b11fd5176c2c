#pragma once
// Helpers of the versions' transactions (meta_versions.cc), shared with meta_store.cc.
// Private to meta/.

#include <cstdint>
#include <optional>
#include <string>

#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/meta/txn.h"

namespace mosaic::gateway::meta {

// The version of (bucket, key) with S3 id `version_id` ("null": the null version), from the
// current object `current` (the `o` row, read by the caller with the key locked) or the
// versions table; nullopt if there is none. INVALID_ARGUMENT for a malformed id.
absl::StatusOr<std::optional<v1::ObjectRecord>> FindVersion(
    Transaction& t, const std::string& bucket, const std::string& key,
    const std::optional<v1::ObjectRecord>& current, const std::string& version_id);

// A version's id as S3 shows it: "null" for the null version.
std::string ShownVersionId(const v1::ObjectRecord& record);

// Whether Object Lock forbids deleting the version at `now_ms`: a legal hold, or a retention
// date still ahead (COMPLIANCE always; GOVERNANCE unless `bypass_governance`).
bool LockedAgainstDelete(const v1::ObjectRecord& record, int64_t now_ms, bool bypass_governance);

}  // namespace mosaic::gateway::meta
