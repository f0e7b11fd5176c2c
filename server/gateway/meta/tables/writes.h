#pragma once
// Writes in progress ("mark uploading first", meta/write_journal.h), so that every gateway's
// orphan sweep spares their chunks:
//   `~inflight/` <writer> NUL <object id, 16 bytes> -> stripes reserved (u64 BE), shards a
//                                                       stripe (u32 BE)
//   `~writer/` <writer>                             -> heartbeat count (u64 BE)
// A writer is one run of one gateway (its name and a random suffix: no NUL). It records an
// object before the first shard of each reserved stripe is sent, and raises its heartbeat
// count while it runs.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "server/gateway/meta/entries.h"
#include "server/gateway/meta/row.h"

namespace mosaic::gateway::meta::writes {

absl::Status Put(Transaction& t, const WriteInFlight& write);
absl::Status Delete(Transaction& t, const std::string& writer, const std::string& object_id);
// Every write recorded, by writer then object id.
absl::StatusOr<std::vector<WriteInFlight>> List(Transaction& t);

// The writer's heartbeat count (0 if it has none), with `lock` its row locked.
absl::StatusOr<uint64_t> GetBeat(Transaction& t, const std::string& writer, bool lock);
absl::Status PutBeat(Transaction& t, const std::string& writer, uint64_t beat);
absl::StatusOr<std::map<std::string, uint64_t>> Beats(Transaction& t);
// Deletes the writer's heartbeat and every write it recorded; returns how many writes.
absl::StatusOr<uint64_t> DropWriter(Transaction& t, const std::string& writer);

}  // namespace mosaic::gateway::meta::writes
