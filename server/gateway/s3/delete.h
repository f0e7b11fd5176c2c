#pragma once
// The body of DeleteObjects (POST ?delete), parsed; public for the parser's fuzz target.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace mosaic::gateway {

struct DeleteEntry {
  std::string key;
  std::string version_id;
  bool has_version_id = false;
};

struct DeleteRequest {
  bool quiet = false;
  std::vector<DeleteEntry> entries;
};

// <Delete><Quiet/><Object><Key/><VersionId/></Object>…</Delete>; MalformedXML when it is
// not one, has no Object, or more than 1000 objects.
[[nodiscard]] absl::StatusOr<DeleteRequest> ParseDelete(std::string_view body);

}  // namespace mosaic::gateway
