#include "server/gateway/scrub_admin.h"

#include "common/units.h"

namespace mosaic::gateway {

bool HandleScrubAdmin(Scrubber& scrubber, OrphanSweeper& sweeper, Exchange& ex,
                      const S3Request& req) {
  const std::string& method = ex.request().method;
  std::string_view path = ex.request().RawPath();
  if (path == "/admin/v1/scrub" && (method == "GET" || method == "POST")) {
    int status = 200;
    if (method == "POST") status = scrubber.StartDeepScrub() ? 202 : 409;
    ex.SetHeader("Content-Type", "application/json");
    (void)ex.Send(status, ProgressJson(scrubber.progress()));
    return true;
  }
  if (path == "/admin/v1/sweep" && method == "POST") {
    std::chrono::milliseconds grace = sweeper.options().grace;
    if (auto it = req.query.find("grace"); it != req.query.end()) {
      auto parsed = ParseDuration(it->second);
      if (!parsed.ok() || parsed->count() < 0) {
        (void)ex.Send(400, "grace: expected a duration such as 0s, 10m or 24h\n");
        return true;
      }
      grace = *parsed;
    }
    auto report = sweeper.Sweep(grace);
    if (!report.ok()) {
      (void)ex.Send(500, report.status().ToString() + "\n");
      return true;
    }
    ex.SetHeader("Content-Type", "application/json");
    (void)ex.Send(200, SweepReportJson(*report));
    return true;
  }
  return false;
}

}  // namespace mosaic::gateway
