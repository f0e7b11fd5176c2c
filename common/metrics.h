#pragma once
// A small metrics registry rendered in the Prometheus text exposition format (version
// 0.0.4). Metrics are created once (at startup) and updated from any thread without locks;
// the registry owns them and hands out references that stay valid for its lifetime.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mosaic::metrics {

// Label name/value pairs, e.g. {{"code", "NOT_FOUND"}}. Names must match [a-zA-Z_][a-zA-Z0-9_]*.
using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double d);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Cumulative histogram with fixed upper bounds (seconds for latencies).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);
  // Snapshot: cumulative counts per bound (then +Inf), the sum and the count.
  struct Snapshot {
    std::vector<uint64_t> cumulative;
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Read() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1 (the +Inf bucket)
  std::atomic<double> sum_{0};
  std::atomic<uint64_t> count_{0};
};

// Latency bounds from 50 µs to 10 s, roughly ×2.5 apart.
std::vector<double> LatencyBounds();

class Registry {
 public:
  // Returns the metric with this name and labels, creating it on first use. The same name
  // must always be used with the same kind and help text. Thread-safe.
  Counter& GetCounter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge& GetGauge(std::string_view name, std::string_view help, const Labels& labels = {});
  Histogram& GetHistogram(std::string_view name, std::string_view help, const Labels& labels = {},
                          std::vector<double> bounds = LatencyBounds());

  // Registers a function run before each rendering, to refresh gauges that are cheaper to
  // compute on demand (disk usage). It runs on the rendering thread.
  void AddRefresher(std::function<void()> refresh);

  // The whole registry in the Prometheus text format, families sorted by name.
  std::string RenderText();

  // How many times a metric was looked up by name (GetCounter/GetGauge/GetHistogram), each
  // under the registry's mutex: for tests of code that must make its handles once.
  uint64_t lookups() const { return lookups_.load(std::memory_order_relaxed); }

 private:
  enum class Kind { kCounter, kGauge, kHistogram };
  struct Family {
    Kind kind;
    std::string help;
    std::map<std::string, std::unique_ptr<Counter>> counters;  // keyed by rendered labels
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
    std::map<std::string, std::unique_ptr<Histogram>> histograms;
  };
  Family& FamilyFor(std::string_view name, std::string_view help, Kind kind);

  std::mutex mu_;
  std::map<std::string, Family, std::less<>> families_;
  std::vector<std::function<void()>> refreshers_;
  std::atomic<uint64_t> lookups_{0};
};

// Per-request metrics of a server: a counter by (operation, status), a latency histogram by
// operation, and the bytes received and sent. Each (operation, status) pair's handles are
// looked up in the registry at its first request only; after that recording a request
// finds them in a table of atomic pointers without any lock. Operations and statuses are
// few (names from a fixed list); past kSlots / 2 distinct pairs, new pairs are looked up
// in the registry every time (still counted right, only slower).
class RequestMetrics {
 public:
  struct Names {
    std::string requests;  // counter, labels operation and status
    std::string requests_help;
    std::string seconds;  // histogram, label operation
    std::string seconds_help;
    std::string received;  // counters without labels
    std::string received_help;
    std::string sent;
    std::string sent_help;
  };
  RequestMetrics(Registry& registry, Names names);
  ~RequestMetrics();
  RequestMetrics(const RequestMetrics&) = delete;
  RequestMetrics& operator=(const RequestMetrics&) = delete;

  void Record(std::string_view operation, int status, double seconds, uint64_t bytes_in,
              uint64_t bytes_out);

  static constexpr size_t kSlots = 512;

 private:
  struct Handles {
    Counter* requests;
    Histogram* seconds;
  };
  struct Entry {
    std::string operation;
    int status;
    Handles handles;
  };
  Handles Lookup(std::string_view operation, int status);
  const Entry* Find(std::string_view operation, int status, size_t hash) const;

  Registry& registry_;
  const Names names_;
  Counter& received_;
  Counter& sent_;
  std::unique_ptr<std::atomic<Entry*>[]> slots_;
  std::mutex mu_;  // taken only to add an entry
  std::vector<std::unique_ptr<Entry>> entries_;
};

// Renders labels as {a="x",b="y"} with values escaped; "" when empty.
std::string RenderLabels(const Labels& labels);

}  // namespace mosaic::metrics
