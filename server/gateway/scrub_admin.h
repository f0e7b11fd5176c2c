#pragma once
// The admin endpoints of the scrub and the orphan sweep (behind the admin token, dispatched
// from HandleAdmin):
//   POST /admin/v1/scrub            starts a deep scrub now -> 202 and the progress JSON
//                                   (409 and the progress when one is running already)
//   GET  /admin/v1/scrub            the deep scrub's progress (scrubber.h, ProgressJson) and
//                                   "findings": the newest bad shards found, newest first,
//                                   kept in the metadata (Scrubber::FindingsJson)
//   POST /admin/v1/sweep?grace=D    runs an orphan sweep now with grace D (default: the
//                                   configured orphan_grace); blocks; -> the SweepReport JSON

#include "server/gateway/http/exchange.h"
#include "server/gateway/jobs/orphan_sweeper.h"
#include "server/gateway/jobs/scrubber.h"
#include "server/gateway/s3/router.h"

namespace mosaic::gateway {

// Answers the request and returns true if it is one of the above; false otherwise.
bool HandleScrubAdmin(Scrubber& scrubber, OrphanSweeper& sweeper, Exchange& ex,
                      const S3Request& req);

}  // namespace mosaic::gateway
