#pragma once
// The console's audit log (issue 15): `L` <time_ms, 8 bytes big-endian> <a per-process
// counter, 4 bytes> <4 random bytes> ->
// AuditRecord. In the metadata, so it is backed up with it; append-only.

#include <cstddef>
#include <deque>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/meta/row.h"

namespace mosaic::gateway::meta::audit {

// `prefix` <time_ms, 8 bytes big-endian> <a per-process counter, 4 bytes> <4 random bytes>:
// the key of a row of a time-ordered log (this one, the scrub findings). Rows of one
// millisecond keep this process's order, and several gateways' rows never collide.
std::string TimeOrderedKey(std::string_view prefix, int64_t time_ms);

// The last `limit` rows under `prefix` in key order, oldest first.
template <typename Message>
absl::StatusOr<std::vector<Message>> LastRows(Transaction& t, std::string_view prefix, size_t limit,
                                              const char* what) {
  // The interface scans forward only: keep the last `limit` rows seen.
  std::deque<Message> last;
  RETURN_IF_ERROR(
      t.Scan(prefix, "", [&](std::string_view, std::string_view value) -> absl::StatusOr<bool> {
        ASSIGN_OR_RETURN(auto r, ParseRow<Message>(value, what));
        last.push_back(std::move(r));
        if (last.size() > limit) last.pop_front();
        return true;
      }));
  return std::vector<Message>(std::make_move_iterator(last.begin()),
                              std::make_move_iterator(last.end()));
}

// Appends `r` under its time_ms (a random suffix keeps lines of one millisecond apart).
absl::Status Append(Transaction& t, const v1::AuditRecord& r);
// The newest `limit` lines, newest first.
absl::StatusOr<std::vector<v1::AuditRecord>> Newest(Transaction& t, size_t limit);

}  // namespace mosaic::gateway::meta::audit
