#pragma once
// Grants as text, the one spelling shared by the admin API (`mosaic key`), `mosaic gateway`
// and the console: rights are "read", "write", "owner" (and "none" where a grant is taken
// away); a grant's target is "bucket" (the whole bucket, "*" = every bucket) or
// "bucket/prefix" (only keys that start with prefix; bucket names never hold a '/').
// Pure functions, any thread.

#include <string>

#include "absl/status/statusor.h"
#include "proto/mosaic/v1/meta.pb.h"

namespace mosaic::gateway {

// "bucket:right" or "bucket/prefix:right" -> Grant (right read, write or owner);
// INVALID_ARGUMENT for anything else.
[[nodiscard]] absl::StatusOr<v1::Grant> ParseGrant(const std::string& text);

// "bucket" or "bucket/prefix" -> a Grant with bucket and prefix set (right unset);
// INVALID_ARGUMENT when the bucket is empty.
[[nodiscard]] absl::StatusOr<v1::Grant> ParseGrantTarget(const std::string& text);

// The grant's target as ParseGrantTarget reads it: "bucket" or "bucket/prefix".
std::string GrantTarget(const v1::Grant& grant);

// "bucket:right" or "bucket/prefix:right", as ParseGrant reads it.
std::string GrantText(const v1::Grant& grant);

// "read" | "write" | "owner" | "none" -> the right ("none" is RIGHT_UNSPECIFIED);
// INVALID_ARGUMENT otherwise.
[[nodiscard]] absl::StatusOr<v1::Grant::Right> ParseRight(const std::string& text);

// The right's name as ParseRight reads it: "read", "write", "owner", or "none" for anything
// else. The pointer is to a static string.
const char* RightName(v1::Grant::Right right);

}  // namespace mosaic::gateway
