#include "common/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace mosaic::metrics {
namespace {

TEST(MetricsTest, RendersCountersGaugesAndHistograms) {
  Registry r;
  r.GetCounter("mosaic_requests_total", "Requests.", {{"method", "put"}}).Inc(3);
  r.GetGauge("mosaic_free_bytes", "Free.").Set(42);
  auto& h = r.GetHistogram("mosaic_latency_seconds", "Latency.", {{"method", "get"}}, {0.1, 1});
  h.Observe(0.05);
  h.Observe(0.5);
  h.Observe(5);
  std::string text = r.RenderText();
  EXPECT_NE(text.find("# TYPE mosaic_requests_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("mosaic_requests_total{method=\"put\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("mosaic_free_bytes 42\n"), std::string::npos);
  EXPECT_NE(text.find("mosaic_latency_seconds_bucket{method=\"get\",le=\"0.1\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("mosaic_latency_seconds_bucket{method=\"get\",le=\"1\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("mosaic_latency_seconds_bucket{method=\"get\",le=\"+Inf\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("mosaic_latency_seconds_count{method=\"get\"} 3\n"), std::string::npos);
}

TEST(MetricsTest, SameNameAndLabelsIsOneMetric) {
  Registry r;
  r.GetCounter("c", "C.", {{"a", "1"}}).Inc();
  r.GetCounter("c", "C.", {{"a", "1"}}).Inc();
  r.GetCounter("c", "C.", {{"a", "2"}}).Inc();
  EXPECT_EQ(r.GetCounter("c", "C.", {{"a", "1"}}).Value(), 2u);
}

TEST(MetricsTest, EscapesLabelValues) {
  EXPECT_EQ(RenderLabels({{"path", "a\"b\\c\nd"}}), "{path=\"a\\\"b\\\\c\\nd\"}");
}

TEST(MetricsTest, ConcurrentIncrementsAreCounted) {
  Registry r;
  Counter& c = r.GetCounter("n", "N.");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) c.Inc();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.Value(), 40000u);
}

TEST(MetricsTest, RefreshersRunBeforeRendering) {
  Registry r;
  Gauge& g = r.GetGauge("g", "G.");
  r.AddRefresher([&] { g.Set(7); });
  EXPECT_NE(r.RenderText().find("g 7\n"), std::string::npos);
}

RequestMetrics::Names TestNames() {
  return {"req_total", "Requests.", "req_seconds", "Latency.",
          "in_bytes",  "In.",       "out_bytes",   "Out."};
}

// Issue 14: the gateway recorded every request by looking its metrics up by name under the
// registry's mutex (four lookups a request). Its handles are now made once per pair.
TEST(MetricsTest, RequestMetricsLooksUpEachPairOnce) {
  Registry r;
  RequestMetrics m(r, TestNames());
  uint64_t before = r.lookups();
  for (int i = 0; i < 1000; ++i) {
    m.Record("GetObject", 200, 0.001, 10, 100);
    m.Record("PutObject", i % 2 == 0 ? 200 : 503, 0.002, 1000, 0);
  }
  EXPECT_EQ(r.lookups() - before, 6u);  // 3 pairs, a counter and a histogram each
  EXPECT_EQ(r.GetCounter("req_total", "Requests.", {{"operation", "GetObject"}, {"status", "200"}})
                .Value(),
            1000u);
  EXPECT_EQ(r.GetCounter("req_total", "Requests.", {{"operation", "PutObject"}, {"status", "503"}})
                .Value(),
            500u);
  EXPECT_EQ(r.GetHistogram("req_seconds", "Latency.", {{"operation", "PutObject"}}).Read().count,
            1000u);
  EXPECT_EQ(r.GetCounter("in_bytes", "In.").Value(), 1000u * 10 + 1000u * 1000);
  EXPECT_EQ(r.GetCounter("out_bytes", "Out.").Value(), 100000u);
}

TEST(MetricsTest, RequestMetricsCountsRightFromRacingThreadsAndPastItsTable) {
  Registry r;
  RequestMetrics m(r, TestNames());
  constexpr int kPairs = RequestMetrics::kSlots;  // half of them past the table
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&m] {
      for (int i = 0; i < 3 * kPairs; ++i)
        m.Record("Op" + std::to_string(i % kPairs), 200, 0, 1, 1);
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kPairs; ++i) {
    ASSERT_EQ(r.GetCounter("req_total", "Requests.",
                           {{"operation", "Op" + std::to_string(i)}, {"status", "200"}})
                  .Value(),
              12u)
        << i;
  }
  EXPECT_EQ(r.GetCounter("in_bytes", "In.").Value(), 12u * kPairs);
}

}  // namespace
}  // namespace mosaic::metrics
