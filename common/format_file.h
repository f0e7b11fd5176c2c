#pragma once
// A folder's format version, kept in a small text file FORMAT inside it, for the formats that
// have no version of their own (a RocksDB database's keys, say). docs/upgrading.md.
//
//   mosaic-format: node index 1
//
// A later build that changes the format raises its version and keeps reading the older
// ones; an older build meeting a newer version refuses, naming both, instead of misreading.

#include <string>

#include "absl/status/status.h"

namespace mosaic {

// Checks DIR/FORMAT against `name` and `version` (this build's), creating DIR and the file
// (version `version`) when missing: a folder written before the file existed is version 1,
// which is what this build writes then too. Errors: FAILED_PRECONDITION naming both versions
// when the folder's version is newer; INVALID_ARGUMENT when the file is not one of ours or
// names another format; INTERNAL on I/O errors. Blocks on file I/O; any thread.
[[nodiscard]] absl::Status CheckFormatFile(const std::string& dir, const std::string& name,
                                           int version);

}  // namespace mosaic
