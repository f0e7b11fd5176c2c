#pragma once
// The parts of the bucket operations (bucket.cc) that need no request: the CreateBucket body.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace mosaic::gateway {

// The LocationConstraint of a CreateBucket body ("" for an empty body or none given): at
// most 64 characters of a-z, 0-9 and '-'. MalformedXML (INVALID_ARGUMENT) when the body is not
// a CreateBucketConfiguration or passes the XML limits, InvalidLocationConstraint for any
// other name.
[[nodiscard]] absl::StatusOr<std::string> ParseCreateBucketConfiguration(std::string_view body);

}  // namespace mosaic::gateway
