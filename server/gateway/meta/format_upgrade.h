#pragma once
// Upgrades of the rows' format for a store written by an older gateway, run by
// MetaStore::Open on either backend (RocksDB or PostgreSQL) through transactions, before the
// store serves anything. (PostgreSQL's table schema has its own migrations: pg_backend.h.)
//
// The rows' format version is the row `~format` (decimal; none = 1). Versions:
//   2: the null-version index (tables/versions.h, `V` rows, since 242be37): built from the
//      versions table, in pages of their own transactions.
// The row is written only once the versions table holds a row: a restore opens an empty
// store before it loads a backup's rows (maybe an older gateway's, without the index), and
// reopens it after, which then upgrades. Each step is idempotent, so an upgrade cut off by a
// crash, or run by two gateways starting together on one database, is simply run again.
// Blocks; errors of the metadata store.

#include "absl/status/status.h"
#include "server/gateway/meta/txn.h"

namespace mosaic::gateway::meta {

inline constexpr int kRowFormat = 2;

[[nodiscard]] absl::Status UpgradeFormat(Backend& backend);

// The format version the store's rows are in (1 when no row says).
[[nodiscard]] absl::StatusOr<int> RowFormat(Transaction& t);

}  // namespace mosaic::gateway::meta
