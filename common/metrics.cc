#include "common/metrics.h"

#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/check.h"

namespace mosaic::metrics {
namespace {

void AtomicAdd(std::atomic<double>& a, double d) {
  double old = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(old, old + d, std::memory_order_relaxed)) {
  }
}

std::string FormatDouble(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out.push_back(c);
  }
  return out;
}

// Appends the histogram's "le" label to an already rendered label set.
std::string WithLe(const std::string& labels, const std::string& le) {
  std::string le_pair = absl::StrCat("le=\"", le, "\"");
  if (labels.empty()) return absl::StrCat("{", le_pair, "}");
  return absl::StrCat(labels.substr(0, labels.size() - 1), ",", le_pair, "}");
}

}  // namespace

void Gauge::Add(double d) { AtomicAdd(value_, d); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  s.count = running;
  return s;
}

std::vector<double> LatencyBounds() {
  return {50e-6, 100e-6, 250e-6, 500e-6, 1e-3,   2.5e-3, 5e-3, 10e-3,
          25e-3, 50e-3,  100e-3, 250e-3, 500e-3, 1.0,    2.5,  10.0};
}

std::string RenderLabels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ",";
    absl::StrAppend(&out, labels[i].first, "=\"", EscapeLabelValue(labels[i].second), "\"");
  }
  out += "}";
  return out;
}

Registry::Family& Registry::FamilyFor(std::string_view name, std::string_view help, Kind kind) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), Family{kind, std::string(help), {}, {}, {}}).first;
  }
  CHECK(it->second.kind == kind);
  return it->second;
}

Counter& Registry::GetCounter(std::string_view name, std::string_view help, const Labels& labels) {
  std::lock_guard lock(mu_);
  lookups_.fetch_add(1, std::memory_order_relaxed);
  auto& slot = FamilyFor(name, help, Kind::kCounter).counters[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& Registry::GetGauge(std::string_view name, std::string_view help, const Labels& labels) {
  std::lock_guard lock(mu_);
  lookups_.fetch_add(1, std::memory_order_relaxed);
  auto& slot = FamilyFor(name, help, Kind::kGauge).gauges[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& Registry::GetHistogram(std::string_view name, std::string_view help,
                                  const Labels& labels, std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  lookups_.fetch_add(1, std::memory_order_relaxed);
  auto& slot = FamilyFor(name, help, Kind::kHistogram).histograms[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<Histogram>(std::move(bounds));
  return *slot;
}

void Registry::AddRefresher(std::function<void()> refresh) {
  std::lock_guard lock(mu_);
  refreshers_.push_back(std::move(refresh));
}

std::string Registry::RenderText() {
  std::vector<std::function<void()>> refreshers;
  {
    std::lock_guard lock(mu_);
    refreshers = refreshers_;
  }
  for (auto& r : refreshers) r();

  std::lock_guard lock(mu_);
  std::string out;
  for (auto& [name, f] : families_) {
    const char* type = f.kind == Kind::kCounter ? "counter"
                       : f.kind == Kind::kGauge ? "gauge"
                                                : "histogram";
    absl::StrAppend(&out, "# HELP ", name, " ", f.help, "\n# TYPE ", name, " ", type, "\n");
    for (auto& [labels, c] : f.counters) absl::StrAppend(&out, name, labels, " ", c->Value(), "\n");
    for (auto& [labels, g] : f.gauges) {
      absl::StrAppend(&out, name, labels, " ", FormatDouble(g->Value()), "\n");
    }
    for (auto& [labels, h] : f.histograms) {
      auto snap = h->Read();
      for (size_t i = 0; i < snap.cumulative.size(); ++i) {
        std::string le = i < h->bounds().size() ? FormatDouble(h->bounds()[i]) : "+Inf";
        absl::StrAppend(&out, name, "_bucket", WithLe(labels, le), " ", snap.cumulative[i], "\n");
      }
      absl::StrAppend(&out, name, "_sum", labels, " ", FormatDouble(snap.sum), "\n");
      absl::StrAppend(&out, name, "_count", labels, " ", snap.count, "\n");
    }
  }
  return out;
}

}  // namespace mosaic::metrics

namespace mosaic::metrics {

RequestMetrics::RequestMetrics(Registry& registry, Names names)
    : registry_(registry),
      names_(std::move(names)),
      received_(registry.GetCounter(names_.received, names_.received_help)),
      sent_(registry.GetCounter(names_.sent, names_.sent_help)),
      slots_(new std::atomic<Entry*>[kSlots]) {
  for (size_t i = 0; i < kSlots; ++i) slots_[i].store(nullptr, std::memory_order_relaxed);
}

RequestMetrics::~RequestMetrics() = default;

const RequestMetrics::Entry* RequestMetrics::Find(std::string_view operation, int status,
                                                  size_t hash) const {
  for (size_t i = 0; i < kSlots; ++i) {
    const Entry* e = slots_[(hash + i) % kSlots].load(std::memory_order_acquire);
    if (e == nullptr) return nullptr;
    if (e->status == status && e->operation == operation) return e;
  }
  return nullptr;
}

RequestMetrics::Handles RequestMetrics::Lookup(std::string_view operation, int status) {
  size_t hash = std::hash<std::string_view>{}(operation)*31 + static_cast<size_t>(status);
  if (const Entry* e = Find(operation, status, hash)) return e->handles;
  std::lock_guard lock(mu_);
  if (const Entry* e = Find(operation, status, hash)) return e->handles;  // added meanwhile
  std::string op(operation);
  Handles made{&registry_.GetCounter(names_.requests, names_.requests_help,
                                     {{"operation", op}, {"status", std::to_string(status)}}),
               &registry_.GetHistogram(names_.seconds, names_.seconds_help, {{"operation", op}})};
  if (entries_.size() >= kSlots / 2) return made;  // table full: looked up every time
  entries_.push_back(std::make_unique<Entry>(Entry{std::move(op), status, made}));
  for (size_t i = 0; i < kSlots; ++i) {
    std::atomic<Entry*>& slot = slots_[(hash + i) % kSlots];
    if (slot.load(std::memory_order_relaxed) == nullptr) {
      slot.store(entries_.back().get(), std::memory_order_release);
      break;
    }
  }
  return made;
}

void RequestMetrics::Record(std::string_view operation, int status, double seconds,
                            uint64_t bytes_in, uint64_t bytes_out) {
  Handles h = Lookup(operation, status);
  h.requests->Inc();
  h.seconds->Observe(seconds);
  received_.Inc(bytes_in);
  sent_.Inc(bytes_out);
}

}  // namespace mosaic::metrics
