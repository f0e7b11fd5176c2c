#pragma once
// RocksDB helpers shared by the metadata store's source files (private to meta/): status
// conversion (the one place RocksDB errors become absl::Status) and slice views.

#include <rocksdb/slice.h>
#include <rocksdb/status.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace mosaic::gateway::internal {

inline absl::Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return absl::OkStatus();
  std::string message = "metadata " + what + ": " + s.ToString();
  if (s.IsIOError()) return absl::UnavailableError(message);
  if (s.IsCorruption()) return absl::DataLossError(message);
  return absl::InternalError(message);
}

inline rocksdb::Slice S(std::string_view s) { return {s.data(), s.size()}; }
inline std::string_view V(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

}  // namespace mosaic::gateway::internal
