#pragma once
// Grants as text, the one spelling shared by the admin API (`mosaic key`), `mosaic gateway`
// and the console: rights are "read", "write", "owner" (and "none" where a grant is taken
// away). Pure functions, any thread.

#include <string>

#include "absl/status/statusor.h"
#include "proto/mosaic/v1/meta.pb.h"

namespace mosaic::gateway {

// "bucket:right" -> Grant (right read, write or owner); INVALID_ARGUMENT for anything else.
[[nodiscard]] absl::StatusOr<v1::Grant> ParseGrant(const std::string& text);

// "read" | "write" | "owner" | "none" -> the right ("none" is RIGHT_UNSPECIFIED);
// INVALID_ARGUMENT otherwise.
[[nodiscard]] absl::StatusOr<v1::Grant::Right> ParseRight(const std::string& text);

// The right's name as ParseRight reads it: "read", "write", "owner", or "none" for anything
// else. The pointer is to a static string.
const char* RightName(v1::Grant::Right right);

}  // namespace mosaic::gateway
