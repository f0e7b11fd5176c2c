#pragma once
// The background jobs' progress as `mosaic status` shows it: the bridge between the jobs
// (jobs/) and the status document (status.h), which does not depend on them.

#include <cstdint>

#include "server/gateway/jobs/failure_detector.h"
#include "server/gateway/jobs/metadata_backup.h"
#include "server/gateway/jobs/repairer.h"
#include "server/gateway/status.h"

namespace mosaic::gateway {

// The ETA assumes each queued stripe costs what the shards repaired so far cost on average
// (unknown until one was, or while the job is idle). Pure.
RepairProgressView RepairProgressFromRepairer(const Repairer::Progress& progress);
// The lag is `now_ms` − covered_ms (unknown before the first backup). Pure.
BackupView BackupViewFromJob(const MetadataBackup::Progress& progress, int64_t now_ms);
// The nodes declared down, and when the unreachable others will be.
FailureView FailureViewFromDetector(const FailureDetector& detector);

}  // namespace mosaic::gateway
