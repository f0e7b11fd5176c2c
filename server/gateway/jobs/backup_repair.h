#pragma once
// Repair of the metadata backup's own objects (issue 19): the snapshot and increments that
// the backup job wrote are pipeline objects like any other, but they are named by the backup
// state (BackupState), not by pieces, so the repair queue never sees them. The backup job
// calls this at every cycle: a shard of one of them on a lost node (down, draining, removed,
// or gone from the node list) is rebuilt from k others onto another node
// (client::RepairStripe, the repairer's placement rules) and the object's placement in the
// root is updated; the caller stores the state and writes the root to the nodes. So a lost
// provider costs the backup a few rebuilt shards, not a new snapshot.
//
// Threads: blocks on the nodes; call it from the backup job's cycle only (it mutates the
// root the job owns). The rebuilt chunks are registered in the pipeline's in-flight registry
// and stay there until the returned guard is destroyed: destroy it after the state naming
// them is stored, so that the orphan sweep never takes them in between.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "client/pipeline/pipeline.h"
#include "proto/mosaic/v1/backup.pb.h"
#include "proto/mosaic/v1/meta.pb.h"

namespace mosaic::gateway {

struct BackupRepairReport {
  uint64_t shards_rebuilt = 0;
  uint64_t shards_failed = 0;  // not rebuilt this time (too few sources, no node took it)
  std::string first_error;
  std::shared_ptr<void> in_flight;  // keeps the rebuilt chunks registered (see above)
  // The copies replaced on nodes that still answer (draining): (node id, chunk id), for
  // DeleteReplacedCopies once the new placement is stored.
  std::vector<std::pair<std::string, std::string>> replaced;
};

// Rebuilds every shard of `state`'s backups (current and previous: snapshot and increments)
// whose node `lost` says is lost, updating `state` in place. `lost` holds for nodes to
// neither read from nor write to: down, draining, removed, or not in the pool.
BackupRepairReport RepairBackupObjects(client::Pipeline& pipeline, v1::BackupState& state,
                                       const std::function<bool(const std::string&)>& lost);

// Deletes the copies `report` replaced (best effort, without waiting: a copy left behind is
// an orphan for the sweep). Call it after the state naming the new copies is stored.
void DeleteReplacedCopies(client::Pipeline& pipeline, const BackupRepairReport& report);

}  // namespace mosaic::gateway
