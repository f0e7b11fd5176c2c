#pragma once
// A console reporter that also remembers each benchmark's bytes per second, so a benchmark
// program can print its results as ratios to the raw baselines it ran in the same process
// (ratios survive a noisy, shared machine better than absolute figures). Rates are taken
// from CPU time, Google Benchmark's default.

#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace mosaic::bench {

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  // Plain tables without colour codes, so that output can be pasted into docs.
  RatioReporter() : ConsoleReporter(OO_Tabular) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    // With --benchmark_repetitions the median stands for the benchmark; it is reported after
    // the repetitions, so it overwrites them.
    for (const Run& run : runs) {
      auto it = run.counters.find("bytes_per_second");
      if (run.error_occurred || it == run.counters.end()) continue;
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name != "median") continue;
      rates_[run.run_name.str()] = it->second.value;
    }
  }

  // Bytes per second recorded for `name`, or 0 if it did not run.
  double Rate(const std::string& name) const {
    auto it = rates_.find(name);
    return it == rates_.end() ? 0 : it->second;
  }

  // Prints "ours  GiB/s  baseline  GiB/s  ratio" for a pair that both ran; silent otherwise.
  void PrintRatio(const std::string& ours, const std::string& baseline) const {
    auto a = rates_.find(ours);
    auto b = rates_.find(baseline);
    if (a == rates_.end() || b == rates_.end() || b->second <= 0) return;
    std::printf("%-44s %7.2f GiB/s  vs %-36s %7.2f GiB/s  ratio %.3f\n", ours.c_str(),
                a->second / kGiB, baseline.c_str(), b->second / kGiB, a->second / b->second);
  }

 private:
  static constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
  std::map<std::string, double> rates_;
};

// Runs the registered benchmarks with `reporter`; returns false on bad flags.
inline bool RunWithReporter(int argc, char** argv, RatioReporter& reporter) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return false;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  std::printf("\nRatios (ours / baseline, bytes per second):\n");
  return true;
}

}  // namespace mosaic::bench
