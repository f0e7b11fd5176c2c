#pragma once
// Copying the whole metadata from one store into another (issue 17): `mosaic meta migrate`
// moves a group's RocksDB into an empty PostgreSQL database, and `mosaic restore --into
// postgresql://…` refuses a database that is not empty. Raw rows: every table is copied,
// whatever its kind, so a table added later needs nothing here.
//
// A "table" here is the key's prefix (docs/architecture.md lists them): the first byte, or
// for the `~` rows the name up to and including its `/` (`~lease/`, `~inflight/`).

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "server/gateway/meta/meta_store.h"

namespace mosaic::gateway::meta {

// The table (key prefix) a row belongs to.
std::string TableOf(std::string_view key);

struct TableTally {
  uint64_t rows = 0;
  uint64_t bytes = 0;     // keys and values
  uint64_t checksum = 0;  // the sum of each row's 64-bit hash: independent of order
  bool operator==(const TableTally&) const = default;
};
using TableTallies = std::map<std::string, TableTally>;

// Every row of `store` at one snapshot, tallied by table. Blocks; errors of the store.
[[nodiscard]] absl::StatusOr<TableTallies> TallyRows(const MetaStore& store);

// Copies every row of `from` (read at one snapshot) into `to`, in transactions of up to
// `batch_rows` rows, then tallies `to` and compares it with `from`, table by table.
// FAILED_PRECONDITION if `to` holds any row before (nothing is written); DATA_LOSS naming
// the first table that differs after the copy; errors of the stores otherwise. Neither store
// may be written by anyone else meanwhile (the gateway is stopped). Returns `from`'s tally.
[[nodiscard]] absl::StatusOr<TableTallies> CopyAllRows(const MetaStore& from, MetaStore& to,
                                                       size_t batch_rows = 500);

// A line per table: "o   objects   1234 rows   56789 bytes", and a total.
std::string FormatTallies(const TableTallies& tallies);

}  // namespace mosaic::gateway::meta
