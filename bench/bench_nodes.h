#pragma once
// Set-up shared by the benchmarks that run real `mosaic node` processes
// (bench/client/pipeline_bench, repair_bench): where the nodes keep their data, the object
// size, and node options that keep background work out of the measurements.

#include <cstdlib>
#include <memory>
#include <vector>

#include "tests/support/pipeline_io.h"

namespace mosaic::bench {

// Node data under $MOSAIC_BENCH_DIR (default /var/tmp: a real disk, not tmpfs); the object
// size from $MOSAIC_BENCH_OBJECT_MIB, else `default_bytes`.
inline uint64_t BenchObjectBytes(uint64_t default_bytes) {
  const char* base = std::getenv("MOSAIC_BENCH_DIR");
  setenv("TMPDIR", base != nullptr && *base != '\0' ? base : "/var/tmp", 1);
  const char* mib = std::getenv("MOSAIC_BENCH_OBJECT_MIB");
  return mib != nullptr && *mib ? (uint64_t{std::strtoull(mib, nullptr, 10)} << 20) : default_bytes;
}

// `count` nodes with large segments and no background scrub reads competing with the
// measured ones.
inline absl::StatusOr<std::vector<std::unique_ptr<test::NodeProcess>>> StartBenchNodes(int count) {
  test::NodeOptions options;
  options.log_level = "warn";
  options.segment_size = "256MiB";
  options.scrub_rate = "0";
  options.scrub_interval = "24h";
  return test::StartPipelineNodes(count, options);
}

// The endpoints of `nodes`, node i at provider i, for a NodePool.
inline std::vector<client::NodeEndpoint> BenchEndpoints(
    const std::vector<std::unique_ptr<test::NodeProcess>>& nodes) {
  std::vector<client::NodeEndpoint> endpoints;
  for (size_t i = 0; i < nodes.size(); ++i) {
    endpoints.push_back(test::PipelineEndpoint(nodes[i]->options().node_id, static_cast<int>(i),
                                               nodes[i]->grpc_address()));
  }
  return endpoints;
}

}  // namespace mosaic::bench
