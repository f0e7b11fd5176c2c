#pragma once
// The console's audit log (issue 15): `L` <time_ms, 8 bytes big-endian> <a per-process
// counter, 4 bytes> <4 random bytes> ->
// AuditRecord. In the metadata, so it is backed up with it; append-only.

#include <cstddef>
#include <vector>

#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/meta/row.h"

namespace mosaic::gateway::meta::audit {

// Appends `r` under its time_ms (a random suffix keeps lines of one millisecond apart).
absl::Status Append(Transaction& t, const v1::AuditRecord& r);
// The newest `limit` lines, newest first.
absl::StatusOr<std::vector<v1::AuditRecord>> Newest(Transaction& t, size_t limit);

}  // namespace mosaic::gateway::meta::audit
