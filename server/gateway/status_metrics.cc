// The safety figures as Prometheus gauges, and the worker that keeps them fresh (status.h).
// The names are the vocabulary of `mosaic status`: stripes healthy, degraded (missing a
// shard), at risk (a shard on an unreachable node), under-spread (two shards at one
// provider), lost (fewer than k shards left). deploy/alerts/mosaic.rules.yml alerts on them.

#include <cmath>
#include <limits>

#include "common/clock.h"
#include "common/status.h"
#include "server/gateway/status.h"

namespace mosaic::gateway {
namespace {

constexpr double kUnknown = std::numeric_limits<double>::quiet_NaN();

}  // namespace

struct StatusService::Gauges {
  metrics::Gauge* survives = nullptr;
  metrics::Gauge* all = nullptr;
  metrics::Gauge* healthy = nullptr;
  metrics::Gauge* degraded = nullptr;
  metrics::Gauge* at_risk = nullptr;
  metrics::Gauge* under_spread = nullptr;
  metrics::Gauge* lost = nullptr;
  metrics::Gauge* repair_eta = nullptr;
  metrics::Gauge* backup_age = nullptr;
  metrics::Gauge* scan_age = nullptr;
};

StatusService::~StatusService() = default;

void StatusService::ExportMetrics(metrics::Registry& registry) {
  auto g = std::make_shared<Gauges>();
  g->survives = &registry.GetGauge(
      "mosaic_gateway_survives_provider_losses",
      "Whole providers the data survives losing now (-1: some stripe is lost; NaN: no data).");
  auto stripes = [&registry](const char* state) {
    return &registry.GetGauge(
        "mosaic_gateway_stripes",
        "Stripes by state at the last safety scan: all, healthy, degraded (missing a shard), "
        "at_risk (a shard on an unreachable node), under_spread (two shards at one provider), "
        "lost (fewer than k shards).",
        {{"state", state}});
  };
  g->all = stripes("all");
  g->healthy = stripes("healthy");
  g->degraded = stripes("degraded");
  g->at_risk = stripes("at_risk");
  g->under_spread = stripes("under_spread");
  g->lost = stripes("lost");
  g->repair_eta = &registry.GetGauge("mosaic_gateway_repair_eta_seconds",
                                     "Time to empty the repair queue at the recent rate (NaN: "
                                     "unknown).");
  g->backup_age = &registry.GetGauge(
      "mosaic_gateway_backup_age_seconds",
      "Seconds since the last successful metadata backup (NaN: none yet or no backup job).");
  g->scan_age = &registry.GetGauge("mosaic_gateway_safety_scan_age_seconds",
                                   "Seconds since the safety figures were computed (NaN: never).");
  for (metrics::Gauge* unknown : {g->survives, g->repair_eta, g->backup_age, g->scan_age}) {
    unknown->Set(kUnknown);
  }
  {
    std::lock_guard lock(mu_);
    gauges_ = std::move(g);
  }
  registry.AddRefresher([this] { RefreshMetrics(); });
}

void StatusService::RefreshMetrics() {
  std::optional<SafetyReport> report;
  Gauges* g;
  {
    // Never waits for a scan in progress: the previous figures stay until it ends.
    std::unique_lock lock(mu_, std::try_to_lock);
    if (!lock.owns_lock() || gauges_ == nullptr) return;
    g = gauges_.get();
    report = latest_;
  }
  const int64_t now_ms = UnixNowMs();
  if (report) {
    const SafetyReport& s = *report;
    g->survives->Set(s.losses_survived ? double(*s.losses_survived) : kUnknown);
    g->all->Set(double(s.stripes));
    g->healthy->Set(double(s.healthy()));
    g->degraded->Set(double(s.stripes - s.healthy() - s.lost));
    g->at_risk->Set(double(s.at_risk));
    g->under_spread->Set(double(s.under_spread));
    g->lost->Set(double(s.lost));
    g->scan_age->Set(double(std::max<int64_t>(0, now_ms - s.computed_ms)) / 1000);
  }
  std::lock_guard lock(source_mu_);
  if (repair_source_) {
    RepairProgressView r = repair_source_();
    g->repair_eta->Set(r.eta_seconds ? *r.eta_seconds : kUnknown);
  }
  if (backup_source_) {
    BackupView b = backup_source_();
    g->backup_age->Set(b.last_success_ms > 0
                           ? double(std::max<int64_t>(0, now_ms - b.last_success_ms)) / 1000
                           : kUnknown);
  }
}

SafetyScanner::SafetyScanner(StatusService& status, std::chrono::milliseconds interval)
    : Worker("safety scan", {.idle_wait = interval}), status_(status) {}

absl::StatusOr<WorkResult> SafetyScanner::Step() {
  ASSIGN_OR_RETURN(SafetyReport report, status_.Rescan());
  std::string detail = Thousands(report.stripes) + " stripes, " + Thousands(report.healthy()) +
                       " healthy, " + Thousands(report.at_risk) + " at risk, " +
                       Thousands(report.under_spread) + " under-spread, " + Thousands(report.lost) +
                       " lost";
  std::lock_guard lock(mu_);
  detail_ = std::move(detail);
  return WorkResult::Idle();
}

std::string SafetyScanner::Detail() const {
  std::lock_guard lock(mu_);
  return detail_;
}

}  // namespace mosaic::gateway
