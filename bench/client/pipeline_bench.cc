// Object pipeline benchmarks (issue 4): objects written and read through the pipeline to 6
// real `mosaic node` processes on loopback (6 providers, 4+2, 4 MiB stripes, 64 MiB budget
// per writer or reader), next to the raw baselines of the same run:
//
//   BM_PipelineWrite/objects:N   N objects at a time, each by its own thread, one Pipeline
//   BM_PipelineRead/objects:N    the same objects read back whole
//   BM_CodecEncode/objects:N     ShardCodec::EncodeStripe of the same number of stripes, no
//                                network, on as many threads as there are cores
//   BM_CodecDecode/objects:N     DecodeStripe of healthy stripes (k data shards), likewise
//   BM_NodePut/objects:N         NodeClient::Put of the same shards (n per stripe, shard i
//                                to node i) without the codec, as many in flight as N
//                                pipeline writers keep (budget / stripe cost per writer)
//   BM_NodeGet/objects:N         NodeClient::Get of the k data shards of the objects the read
//                                benchmark reads, with as many in flight as N readers keep
//
// Every benchmark counts object bytes (the plaintext), so the MiB/s read side by side.
// Counters: cpu_s_per_GiB is this process's CPU (getrusage) per GiB of object data;
// node_cpu_s_per_GiB the six nodes' (from /proc/<pid>/stat). At the end the program prints
// pipeline / baseline ratios, and the ratio to the slower baseline (the goal).
//
// The object size is $MOSAIC_BENCH_OBJECT_MIB (default 1024), the budget
// $MOSAIC_BENCH_BUDGET_MIB (default 64). Node data lives under $MOSAIC_BENCH_DIR (default
// /var/tmp), removed at exit.

#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_nodes.h"
#include "bench/ratio_reporter.h"
#include "client/pipeline/object_reader.h"
#include "client/pipeline/object_writer.h"
#include "client/pipeline/pipeline.h"
#include "client/pipeline/shard_codec.h"
#include "common/check.h"
#include "tests/support/pipeline_io.h"

namespace mosaic::bench {
namespace {

using client::ObjectManifest;
using client::Pipeline;

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

struct Env {
  std::vector<std::unique_ptr<test::NodeProcess>> nodes;
  std::unique_ptr<client::NodePool> pool;
  std::unique_ptr<client::KeyRing> ring;
  std::unique_ptr<Pipeline> pipeline;
  uint64_t object_bytes = 1024 * kMiB;
  AlignedBuffer source;  // plaintext written by every writer, over and over
  // Objects kept for the read benchmarks, written once (as many as the largest N).
  std::vector<ObjectManifest> read_set;
};
Env* g = nullptr;

const client::PipelineOptions& Options() { return g->pipeline->options(); }
uint64_t StripesPerObject() {
  return (g->object_bytes + Options().stripe_bytes - 1) / Options().stripe_bytes;
}
// Stripes a writer or reader keeps in flight within its budget (as the pipeline charges).
int StripesInFlight() {
  uint64_t shard = client::ShardBytesFor(Options().stripe_bytes, Options().k) + 16;
  uint64_t cost = Options().stripe_bytes + 2 * uint64_t(Options().k + Options().m) * shard;
  return static_cast<int>(std::max<uint64_t>(1, Options().budget_bytes / cost));
}

double ProcessCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double NodesCpuSeconds() {
  double total = 0;
  for (const auto& n : g->nodes) {
    std::ifstream in("/proc/" + std::to_string(n->pid()) + "/stat");
    std::string line;
    std::getline(in, line);
    // Fields after the command (which is in parentheses): state is field 3, utime 14, stime 15.
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::stoull(field);
      if (i == 15) stime = std::stoull(field);
    }
    total += double(utime + stime) / double(sysconf(_SC_CLK_TCK));
  }
  return total;
}

// Measures CPU over one benchmark and sets its bytes and counters.
class CpuMeter {
 public:
  CpuMeter() : process_(ProcessCpuSeconds()), nodes_(NodesCpuSeconds()) {}
  void Report(benchmark::State& state, uint64_t bytes_per_iteration) {
    double gib = double(bytes_per_iteration) * double(state.iterations()) / kGiB;
    state.SetBytesProcessed(int64_t(bytes_per_iteration) * state.iterations());
    state.counters["cpu_s_per_GiB"] = (ProcessCpuSeconds() - process_) / gib;
    state.counters["node_cpu_s_per_GiB"] = (NodesCpuSeconds() - nodes_) / gib;
  }

 private:
  double process_, nodes_;
};

// Runs `body(i)` on `n` threads and joins them.
template <typename F>
void OnThreads(int n, F body) {
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) threads.emplace_back([&body, i] { body(i); });
  for (auto& t : threads) t.join();
}

absl::StatusOr<ObjectManifest> WriteOne() {
  auto writer = g->pipeline->NewWriter();
  if (!writer.ok()) return writer.status();
  for (uint64_t at = 0; at < g->object_bytes;) {
    size_t n = std::min<uint64_t>(g->source.size(), g->object_bytes - at);
    if (absl::Status s = (*writer)->Write(g->source.span().first(n)); !s.ok()) return s;
    at += n;
  }
  return (*writer)->Finish();
}

absl::Status ReadOne(const ObjectManifest& m) {
  auto reader = g->pipeline->NewReader(m, 0, m.size);
  if (!reader.ok()) return reader.status();
  AlignedBuffer out(4 * kMiB);
  for (;;) {
    auto n = (*reader)->Read(out.span());
    if (!n.ok()) return n.status();
    if (*n == 0) return absl::OkStatus();
  }
}

void BM_PipelineWrite(benchmark::State& state, int objects) {
  CpuMeter cpu;
  for (auto _ : state) {
    std::vector<absl::StatusOr<ObjectManifest>> written(objects);
    OnThreads(objects, [&](int i) { written[i] = WriteOne(); });
    state.PauseTiming();
    for (auto& w : written) {
      if (!w.ok()) {
        state.SkipWithError(std::string(w.status().message()).c_str());
      } else if (!g->pipeline->Delete(*w).empty()) {
        state.SkipWithError("a shard of a written object could not be deleted");
      }
    }
    state.ResumeTiming();
  }
  cpu.Report(state, uint64_t(objects) * g->object_bytes);
}

void BM_PipelineRead(benchmark::State& state, int objects) {
  CpuMeter cpu;
  for (auto _ : state) {
    std::vector<absl::Status> read(objects);
    OnThreads(objects, [&](int i) { read[i] = ReadOne(g->read_set[i]); });
    for (auto& r : read) {
      if (!r.ok()) state.SkipWithError(std::string(r.message()).c_str());
    }
  }
  cpu.Report(state, uint64_t(objects) * g->object_bytes);
}

// A codec with the pipeline's profile for a new object, and buffers of `count` sealed
// stripes, each cut into n shard slots.
struct BenchCodec {
  std::unique_ptr<client::ShardCodec> codec;
  size_t shard = 0;
  std::vector<AlignedBuffer> sealed;
  std::vector<ByteSpan> Slots(int stripe) {
    std::vector<ByteSpan> slots;
    for (int i = 0; i < codec->n(); ++i) {
      slots.push_back(sealed[stripe].span().subspan(i * shard, shard));
    }
    return slots;
  }
};
BenchCodec NewBenchCodec(int count) {
  auto codec = client::ShardCodec::Create(
      {Options().k, Options().m, Options().stripe_bytes, Options().algorithm}, *g->ring,
      client::NewDataKey(), client::NewObjectId());
  CHECK(codec.ok());
  BenchCodec b{std::move(*codec), 0, {}};
  b.shard = b.codec->SealedShardBytes(Options().stripe_bytes);
  for (int i = 0; i < count; ++i) b.sealed.emplace_back(size_t(b.codec->n()) * b.shard);
  return b;
}

// The codec alone on the stripes of `objects` objects, on as many threads as cores.
void BM_CodecEncode(benchmark::State& state, int objects) {
  const uint64_t stripes = StripesPerObject() * uint64_t(objects);
  const int threads = std::max(1u, std::thread::hardware_concurrency());
  BenchCodec b = NewBenchCodec(threads);
  CpuMeter cpu;
  for (auto _ : state) {
    std::atomic<uint64_t> next{0};
    OnThreads(threads, [&](int t) {
      std::vector<ByteSpan> slots = b.Slots(t);
      for (uint64_t s; (s = next.fetch_add(1)) < stripes;) {
        client::StripeInfo info{s, Options().stripe_bytes, false};
        CHECK(
            b.codec->EncodeStripe(info, g->source.span().first(info.plaintext_bytes), slots).ok());
      }
    });
  }
  cpu.Report(state, uint64_t(objects) * g->object_bytes);
}

void BM_CodecDecode(benchmark::State& state, int objects) {
  const uint64_t stripes = StripesPerObject() * uint64_t(objects);
  const int threads = std::max(1u, std::thread::hardware_concurrency());
  // A few sealed stripes, decoded in turn (the tag binds the stripe index).
  constexpr int kPrepared = 8;
  BenchCodec b = NewBenchCodec(kPrepared);
  for (int s = 0; s < kPrepared; ++s) {
    client::StripeInfo info{uint64_t(s), Options().stripe_bytes, false};
    CHECK(
        b.codec->EncodeStripe(info, g->source.span().first(info.plaintext_bytes), b.Slots(s)).ok());
  }
  CpuMeter cpu;
  for (auto _ : state) {
    std::atomic<uint64_t> next{0};
    OnThreads(threads, [&](int) {
      auto workspace = b.codec->NewWorkspace();
      AlignedBuffer plaintext(Options().stripe_bytes);
      for (uint64_t i; (i = next.fetch_add(1)) < stripes;) {
        const int s = int(i % kPrepared);
        std::vector<ByteSpan> slots = b.Slots(s);
        std::vector<ConstByteSpan> spans(b.codec->n());
        for (int j = 0; j < b.codec->k(); ++j) spans[j] = slots[j];
        client::StripeInfo info{uint64_t(s), Options().stripe_bytes, false};
        auto r = b.codec->DecodeStripe(info, spans, plaintext.span(), workspace);
        CHECK(r.status.ok());
      }
    });
  }
  cpu.Report(state, uint64_t(objects) * g->object_bytes);
}

// Keeps up to `window` async calls in flight until `total` have completed; `start(i, done)`
// starts call i and must call done(status) exactly once.
template <typename Start>
absl::Status RunWindow(uint64_t total, uint64_t window, Start start) {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t started = 0, finished = 0;
  absl::Status first;
  auto done = [&](absl::Status s) {
    std::lock_guard lock(mu);
    if (!s.ok() && first.ok()) first = s;
    ++finished;
    cv.notify_all();
  };
  std::unique_lock lock(mu);
  while (finished < total) {
    while (started < total && started - finished < window) {
      uint64_t i = started++;
      lock.unlock();
      start(i, done);
      lock.lock();
    }
    cv.wait(lock,
            [&] { return finished == total || (started < total && started - finished < window); });
  }
  return first;
}

void BM_NodePut(benchmark::State& state, int objects) {
  const int n = Options().k + Options().m;
  const uint64_t shards = StripesPerObject() * uint64_t(objects) * uint64_t(n);
  const uint64_t window = uint64_t(objects) * uint64_t(StripesInFlight()) * uint64_t(n);
  const size_t shard = client::ShardBytesFor(Options().stripe_bytes, Options().k) + 16;
  AlignedBuffer data(shard);
  std::memcpy(data.data(), g->source.data(), shard);
  static std::atomic<uint64_t> run{0};
  CpuMeter cpu;
  for (auto _ : state) {
    const std::string prefix = "bench-put-" + std::to_string(run++) + "-";
    absl::Status s = RunWindow(shards, window, [&](uint64_t i, auto& done) {
      g->pool->node(int(i % n))
          .Put(prefix + std::to_string(i), data.span(), [&done](absl::Status st) { done(st); });
    });
    if (!s.ok()) state.SkipWithError(std::string(s.message()).c_str());
    state.PauseTiming();
    (void)RunWindow(shards, window, [&](uint64_t i, auto& done) {
      g->pool->node(int(i % n)).Delete(prefix + std::to_string(i), [&done](absl::StatusOr<bool> r) {
        done(r.status());
      });
    });
    state.ResumeTiming();
  }
  cpu.Report(state, uint64_t(objects) * g->object_bytes);
}

void BM_NodeGet(benchmark::State& state, int objects) {
  const int k = Options().k;
  const uint64_t per_object = StripesPerObject() * uint64_t(k);
  const uint64_t window = uint64_t(objects) * uint64_t(StripesInFlight()) * uint64_t(k);
  // The data shards of the read set's objects, by (node index, chunk id).
  std::vector<std::pair<int, std::string>> chunks;
  for (int o = 0; o < objects; ++o) {
    const ObjectManifest& m = g->read_set[o];
    for (uint64_t s = 0; s < m.stripes.size(); ++s) {
      for (int i = 0; i < k; ++i) {
        chunks.emplace_back(g->pool->IndexOf(m.stripes[s].nodes[i]),
                            client::ChunkIdString(g->ring->ComputeChunkId(m.object_id, s, i)));
      }
    }
  }
  CpuMeter cpu;
  for (auto _ : state) {
    absl::Status s = RunWindow(per_object * uint64_t(objects), window, [&](uint64_t i, auto& done) {
      g->pool->node(chunks[i].first)
          .Get(chunks[i].second, 0, 0,
               [&done](absl::StatusOr<std::string> r) { done(r.status()); });
    });
    if (!s.ok()) state.SkipWithError(std::string(s.message()).c_str());
  }
  cpu.Report(state, uint64_t(objects) * g->object_bytes);
}

void Register() {
  using Fn = void (*)(benchmark::State&, int);
  const std::pair<const char*, Fn> all[] = {{"BM_PipelineWrite", BM_PipelineWrite},
                                            {"BM_CodecEncode", BM_CodecEncode},
                                            {"BM_NodePut", BM_NodePut},
                                            {"BM_PipelineRead", BM_PipelineRead},
                                            {"BM_CodecDecode", BM_CodecDecode},
                                            {"BM_NodeGet", BM_NodeGet}};
  for (int objects : {1, 4}) {
    for (auto [name, fn] : all) {
      std::string full = std::string(name) + "/objects:" + std::to_string(objects);
      benchmark::RegisterBenchmark(full.c_str(),
                                   [fn = fn, objects](benchmark::State& s) { fn(s, objects); })
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
  }
}

// Prints each pipeline figure against its two baselines and against the slower one.
void PrintRatios(const RatioReporter& reporter) {
  for (int objects : {1, 4}) {
    const std::string suffix = "/objects:" + std::to_string(objects) + "/real_time";
    for (auto [ours, codec, node] :
         {std::tuple{"BM_PipelineWrite", "BM_CodecEncode", "BM_NodePut"},
          std::tuple{"BM_PipelineRead", "BM_CodecDecode", "BM_NodeGet"}}) {
      const std::string o = ours + suffix, c = codec + suffix, n = node + suffix;
      reporter.PrintRatio(o, c);
      reporter.PrintRatio(o, n);
      double slower = std::min(reporter.Rate(c), reporter.Rate(n));
      if (reporter.Rate(o) > 0 && slower > 0) {
        std::printf("%-44s ratio to the slower baseline %.3f (goal >= 0.80)\n", o.c_str(),
                    reporter.Rate(o) / slower);
      }
    }
  }
}

}  // namespace
}  // namespace mosaic::bench

int main(int argc, char** argv) {
  using namespace mosaic;
  using namespace mosaic::bench;
  Env env;
  g = &env;
  env.object_bytes = BenchObjectBytes(env.object_bytes);
  auto nodes = StartBenchNodes(6);
  if (!nodes.ok()) {
    std::fprintf(stderr, "cannot start the nodes: %s\n",
                 std::string(nodes.status().message()).c_str());
    return 1;
  }
  env.nodes = std::move(*nodes);
  env.pool = std::make_unique<client::NodePool>(BenchEndpoints(env.nodes), client::RpcOptions{});
  env.ring = test::NewKeyRing();
  client::PipelineOptions pipeline_options;
  if (const char* mib = std::getenv("MOSAIC_BENCH_BUDGET_MIB"); mib != nullptr && *mib) {
    pipeline_options.budget_bytes = std::strtoull(mib, nullptr, 10) * kMiB;
  }
  env.pipeline = std::make_unique<client::Pipeline>(*env.ring, *env.pool, pipeline_options);
  env.source = AlignedBuffer(8 * kMiB);
  test::FillPattern(42, 0, env.source.span());
  for (int i = 0; i < 4; ++i) {
    auto m = WriteOne();
    if (!m.ok()) {
      std::fprintf(stderr, "cannot write the read set: %s\n",
                   std::string(m.status().message()).c_str());
      return 1;
    }
    env.read_set.push_back(*m);
  }
  std::printf("6 nodes under %s; objects of %llu MiB; %d stripes in flight per writer/reader\n",
              std::getenv("TMPDIR"), (unsigned long long)(env.object_bytes / kMiB),
              StripesInFlight());
  Register();
  RatioReporter reporter;
  if (!RunWithReporter(argc, argv, reporter)) return 1;
  PrintRatios(reporter);
  for (const auto& m : env.read_set) {
    if (!env.pipeline->Delete(m).empty())
      std::fprintf(stderr, "a read-set shard was not deleted\n");
  }
  env.pipeline.reset();
  env.pool.reset();
  return 0;
}
