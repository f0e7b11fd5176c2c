#pragma once
// The error of a write over a bucket quota (issue 15; meta/tables/usage.h makes it): a
// RESOURCE_EXHAUSTED status marked so that the S3 error table (s3/errors.cc) answers
// QuotaExceeded rather than SlowDown. Header only and without protobuf, for both sides.

#include <string>

#include "absl/status/status.h"
#include "absl/strings/cord.h"

namespace mosaic::gateway::meta {

inline constexpr char kQuotaExceededPayload[] = "type.mosaic/quota-exceeded";

inline absl::Status QuotaExceededError(std::string message) {
  absl::Status s = absl::ResourceExhaustedError(std::move(message));
  s.SetPayload(kQuotaExceededPayload, absl::Cord("1"));
  return s;
}

inline bool IsQuotaExceeded(const absl::Status& status) {
  return status.code() == absl::StatusCode::kResourceExhausted &&
         status.GetPayload(kQuotaExceededPayload).has_value();
}

}  // namespace mosaic::gateway::meta
