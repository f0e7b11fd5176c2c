#pragma once
// `mosaic restore` (docs/architecture.md, "Restore"): rebuilds a gateway's metadata folder
// from the backup on the nodes, with nothing but the master key and the node list.
//
// It finds the newest root on the nodes (both slots of every node, backup/root_io.h), reads
// the snapshot and then each increment through the pipeline (so up to m lost providers and
// corrupt shards are survived; bad shards are reported), writes the records into a new
// RocksDB at `into`/meta, records the restored backup as the store's backup state (so a
// gateway started there spares its objects and starts a new snapshot), and then verifies
// that every piece's shards exist on their nodes (one listing per node). Last it takes a new
// gateway generation at every node (backup/fencing.h), so that the backed-up gateway, if it
// comes back, can no longer write or delete.
//
// Blocks; one restore at a time per folder. Borrows the pipeline.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/pipeline/pipeline.h"
#include "proto/mosaic/v1/backup.pb.h"
#include "server/gateway/meta/metadata_config.h"

namespace mosaic::gateway {

struct RestoreReport {
  uint64_t generation = 0;
  int64_t backup_ms = 0;  // writes acknowledged after this time are not in the backup
  int nodes = 0;
  int nodes_with_root = 0;
  int increments = 0;
  uint64_t records = 0;  // keys written by the snapshot
  uint64_t batches = 0;  // write batches replayed from increments
  // What the restored metadata holds.
  uint64_t buckets = 0;
  uint64_t objects = 0;
  uint64_t object_bytes = 0;
  uint64_t uploads = 0;
  uint64_t access_keys = 0;
  uint64_t pieces = 0;
  // Shards of the backup objects that failed or were corrupt while reading them (survived).
  std::vector<std::string> backup_faults;  // "stripe s shard i on node: error"
  // Verification of the data's shards against the nodes' listings.
  uint64_t shards_checked = 0;
  uint64_t shards_missing = 0;
  uint64_t shards_unverified = 0;  // on nodes that could not be listed or are not in the list
  std::vector<std::string> missing_examples;  // "node: n missing" per node, and the rest
  std::vector<std::string> nodes_not_listed;  // in the backup's node list, not in --nodes
  // The gateway's settings in the restored root (empty if it carries none).
  v1::GatewaySettings settings;
  // Fencing (backup/fencing.h): the generation the restored metadata took, and the nodes
  // that recorded it.
  bool fenced = false;  // false for a drill (RestoreMetadata's take_over false)
  uint64_t fencing_generation = 0;
  uint64_t fencing_previous = 0;
  int fenced_nodes = 0;
  std::vector<std::string> fence_failures;
};

using RestoreProgress = std::function<void(const std::string& line)>;

// NOT_FOUND "no backup found for this key on N nodes" when no root opens with the
// pipeline's key; FAILED_PRECONDITION if `into`/meta exists already; DATA_LOSS if a backup
// object does not decode or the increments do not follow one another; UNAVAILABLE if a
// backup object cannot be read (too many shards lost); errors of the store otherwise.
// With `take_over` (the default), the restored gateway takes a new generation at every node
// (fencing.h), so the backed-up gateway can no longer write there; without it (a drill that
// checks the backup while the gateway runs) the nodes are left as they are.
// With `metadata` naming PostgreSQL the records go into that database instead of `into`/meta
// (issue 17): FAILED_PRECONDITION if it holds any row already (restore into an empty one);
// the database's errors (PgBackend::Open) otherwise.
[[nodiscard]] absl::StatusOr<RestoreReport> RestoreMetadata(
    client::Pipeline& pipeline, const std::string& into, const RestoreProgress& progress,
    bool take_over = true, const MetadataConfig& metadata = MetadataConfig());

// The report as `mosaic restore` prints it.
std::string RestoreSummary(const RestoreReport& report);

}  // namespace mosaic::gateway
