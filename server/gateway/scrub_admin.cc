#include "server/gateway/scrub_admin.h"

#include <boost/json.hpp>

#include "common/units.h"

namespace mosaic::gateway {

bool HandleScrubAdmin(Scrubber& scrubber, OrphanSweeper& sweeper, Exchange& ex,
                      const S3Request& req) {
  const std::string& method = ex.request().method;
  std::string_view path = ex.request().RawPath();
  if (path == "/admin/v1/scrub" && method == "POST") {
    int status = scrubber.StartDeepScrub() ? 202 : 409;
    ex.SetHeader("Content-Type", "application/json");
    (void)ex.Send(status, ProgressJson(scrubber.progress()));
    return true;
  }
  if (path == "/admin/v1/scrub" && method == "GET") {
    auto findings = scrubber.FindingsJson();
    if (!findings.ok()) {
      (void)ex.Send(500, findings.status().ToString() + "\n");
      return true;
    }
    boost::json::object out = boost::json::parse(ProgressJson(scrubber.progress())).as_object();
    out["findings"] = boost::json::parse(*findings);
    ex.SetHeader("Content-Type", "application/json");
    (void)ex.Send(200, boost::json::serialize(out) + "\n");
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
