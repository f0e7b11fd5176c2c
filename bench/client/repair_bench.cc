// Repair throughput (issue 7): client::RepairStripe against 7 real `mosaic node` processes
// on loopback (7 providers, 4+2, 4 MiB stripes), next to its raw baseline in the same run:
//
//   BM_RepairStripe    one lost shard per stripe rebuilt and put on the free provider, one
//                      stripe at a time as the gateway's repair job does (fetch the other
//                      shards, RebuildShards, Put); wall-clock time
//   BM_RebuildShards   ShardCodec::RebuildShards of one shard from sealed shards in memory
//                      (open k, reconstruct, seal), on one thread; wall-clock time
//
// Both count rebuilt (sealed) shard bytes. The object is $MOSAIC_BENCH_OBJECT_MIB MiB
// (default 256); node data lives under $MOSAIC_BENCH_DIR (default /var/tmp).

#include <benchmark/benchmark.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bench/bench_nodes.h"
#include "bench/ratio_reporter.h"
#include "client/pipeline/pipeline.h"
#include "client/pipeline/shard_codec.h"
#include "client/pipeline/stripe_repair.h"
#include "tests/support/pipeline_io.h"

namespace mosaic::bench {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr int kNodes = 7;

struct Env {
  std::vector<std::unique_ptr<test::NodeProcess>> nodes;
  std::unique_ptr<client::KeyRing> ring;
  std::unique_ptr<client::NodePool> pool;
  std::unique_ptr<client::Pipeline> pipeline;
  client::ObjectManifest manifest;
  uint64_t object_bytes = 256 * kMiB;
};
Env* g = nullptr;

// Deletes a chunk and waits, so that the next repair of the stripe can put it again.
void DeleteAndWait(int node, const std::string& chunk) {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  g->pool->node(node).Delete(chunk, [&](absl::StatusOr<bool>) {
    std::lock_guard lock(mu);
    done = true;
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return done; });
}

void BM_RepairStripe(benchmark::State& state) {
  const auto& m = g->manifest;
  uint64_t stripe = 0;
  uint64_t bytes = 0;
  for (auto _ : state) {
    // Shard 0's node is lost: the shard is rebuilt from the others, not copied.
    const std::string& lost = m.stripes[stripe].nodes[0];
    auto avoid = [&](const std::string& id) { return id == lost; };
    client::StripeRepairResult r =
        client::RepairStripe(*g->pipeline, m, stripe, {0}, avoid, nullptr);
    if (!r.status.ok() || r.shards.empty() || !r.shards[0].status.ok()) {
      state.SkipWithError("repair failed");
      break;
    }
    bytes += r.bytes_written;
    state.PauseTiming();
    DeleteAndWait(g->pool->IndexOf(r.shards[0].node_id),
                  client::ChunkIdString(g->ring->ComputeChunkId(m.object_id, stripe, 0)));
    state.ResumeTiming();
    stripe = (stripe + 1) % m.stripes.size();
  }
  state.SetBytesProcessed(int64_t(bytes));
}

void BM_RebuildShards(benchmark::State& state) {
  const auto& m = g->manifest;
  auto key = g->ring->UnwrapDataKey(AsBytes(m.wrapped_key), m.object_id);
  auto codec = client::ShardCodec::Create({m.k, m.m, m.stripe_bytes, m.algorithm}, *g->ring, *key,
                                          m.object_id);
  const int n = (*codec)->n();
  client::StripeInfo info{0, m.stripe_bytes, false};
  AlignedBuffer plaintext(m.stripe_bytes);
  test::FillPattern(7, 0, plaintext.span());
  size_t shard = (*codec)->SealedShardBytes(m.stripe_bytes);
  std::vector<std::string> sealed(n, std::string(shard, '\0'));
  std::vector<ByteSpan> slots;
  for (auto& s : sealed) slots.push_back({reinterpret_cast<std::byte*>(s.data()), shard});
  if (!(*codec)->EncodeStripe(info, plaintext.span(), slots).ok()) {
    state.SkipWithError("encode failed");
    return;
  }
  std::vector<ConstByteSpan> sources(n);
  for (int i = 1; i < n; ++i) sources[i] = AsBytes(sealed[i]);
  std::string rebuilt(shard, '\0');
  std::vector<ByteSpan> out(n);
  out[0] = {reinterpret_cast<std::byte*>(rebuilt.data()), shard};
  auto workspace = (*codec)->NewWorkspace();
  for (auto _ : state) {
    auto r = (*codec)->RebuildShards(info, sources, 1, out, workspace);
    if (!r.status.ok()) {
      state.SkipWithError("rebuild failed");
      break;
    }
    benchmark::DoNotOptimize(rebuilt.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations() * shard));
}

BENCHMARK(BM_RepairStripe)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RebuildShards)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mosaic::bench

int main(int argc, char** argv) {
  using namespace mosaic;
  using namespace mosaic::bench;
  Env env;
  g = &env;
  env.object_bytes = BenchObjectBytes(env.object_bytes);
  auto nodes = StartBenchNodes(kNodes);
  if (!nodes.ok()) {
    std::fprintf(stderr, "cannot start the nodes: %s\n", nodes.status().ToString().c_str());
    return 1;
  }
  env.nodes = std::move(*nodes);
  env.pool = std::make_unique<client::NodePool>(BenchEndpoints(env.nodes), client::RpcOptions{});
  env.ring = test::NewKeyRing();
  env.pipeline =
      std::make_unique<client::Pipeline>(*env.ring, *env.pool, client::PipelineOptions{});
  auto manifest = test::WritePattern(*env.pipeline, 1, env.object_bytes);
  if (!manifest.ok()) {
    std::fprintf(stderr, "cannot write the object: %s\n", manifest.status().ToString().c_str());
    return 1;
  }
  env.manifest = *manifest;
  RatioReporter reporter;
  if (!RunWithReporter(argc, argv, reporter)) return 1;
  reporter.PrintRatio("BM_RepairStripe/real_time", "BM_RebuildShards/real_time");
  return 0;
}
