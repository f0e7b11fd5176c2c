// The object pipeline's memory bound: a 2 GiB object written and read back through real
// `mosaic node` processes (6 nodes, 6 providers, 4+2) keeps this process's resident memory
// within the pipeline's byte budget plus a fixed overhead. Its own executable, so that no
// other test's allocations count.

#include <gtest/gtest.h>

#include <fstream>

#include "client/pipeline/object_reader.h"
#include "client/pipeline/object_writer.h"
#include "client/pipeline/pipeline.h"
#include "tests/support/node_process.h"
#include "tests/support/pipeline_io.h"

namespace mosaic::client {
namespace {

// A field of /proc/self/status in bytes ("VmRSS", "VmHWM"), or 0.
uint64_t ProcStatusBytes(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1)) << 10;
  }
  return 0;
}

// Resets VmHWM to the current RSS (Linux >= 4.0: "5" to clear_refs).
bool ResetPeak() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.close();
  return static_cast<bool>(out);
}

TEST(PipelineMemoryTest, TwoGibibytesStayWithinBudgetPlusFixedOverhead) {
  // Labelled `rss` (tests/rss_labels.cmake): the ASan lane leaves it out, where RSS counts
  // shadow memory and the quarantine of freed blocks.
  test::NodeOptions o;
  o.segment_size = "512MiB";
  o.scrub_interval = "1h";
  auto nodes = test::StartPipelineNodes(6, o);
  ASSERT_TRUE(nodes.ok()) << nodes.status();
  std::vector<NodeEndpoint> endpoints;
  for (int i = 0; i < 6; ++i) {
    endpoints.push_back(
        test::PipelineEndpoint((*nodes)[i]->options().node_id, i, (*nodes)[i]->grpc_address()));
  }
  NodePool pool(endpoints, RpcOptions{});
  auto ring = test::NewKeyRing();
  ASSERT_NE(ring, nullptr);
  PipelineOptions options;  // 4 MiB stripes, 64 MiB budget
  const uint64_t budget = options.budget_bytes;
  const uint64_t overhead = uint64_t{150} << 20;
  Pipeline pipeline(*ring, pool, options);

  const uint64_t size = uint64_t{2} << 30, seed = 2024;
  const uint64_t before = ProcStatusBytes("VmRSS");
  ASSERT_GT(before, 0u);
  bool reset = ResetPeak();
  auto manifest = test::WritePattern(pipeline, seed, size, 8 << 20);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  uint64_t write_peak = ProcStatusBytes("VmHWM");
  uint64_t after_write = ProcStatusBytes("VmRSS");
  ASSERT_TRUE(test::VerifyPattern(pipeline, *manifest, seed, 0, size).ok());
  uint64_t peak = ProcStatusBytes("VmHWM");
  uint64_t after_read = ProcStatusBytes("VmRSS");
  const uint64_t MiB = 1 << 20;
  std::printf(
      "RSS before %lu MiB; peak during write %lu MiB, after %lu MiB; peak overall %lu "
      "MiB, after read %lu MiB (peak %s)\n",
      before / MiB, write_peak / MiB, after_write / MiB, peak / MiB, after_read / MiB,
      reset ? "reset before the write" : "since process start");
  EXPECT_LE(peak, before + budget + overhead)
      << "peak RSS grew by " << (peak - before) / MiB << " MiB";
  EXPECT_LE(after_read, before + budget + overhead);
  EXPECT_TRUE(pipeline.Delete(*manifest).empty());
}

}  // namespace
}  // namespace mosaic::client
