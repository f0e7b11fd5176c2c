// The baseline of the S3 load benchmark (bench/load/s3_load.py): the object pipeline alone,
// no HTTP, over the nodes and with the master key of a running `mosaic dev`, taken from its
// gateway config. Writes COUNT objects of SIZE bytes with PARALLEL threads, then reads them
// all back (checking their bytes), then deletes them; prints one JSON line per phase with
// MiB/s, ops/s and p50/p99 latency in milliseconds.
//
//   pipeline_load --config DIR/gateway/gateway.toml --size 67108864 --count 16 --parallel 4

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "client/crypto/key_file.h"
#include "client/pipeline/object_reader.h"
#include "client/pipeline/object_writer.h"
#include "client/pipeline/pipeline.h"
#include "client/rpc/node_pool.h"
#include "server/gateway/config.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kIoBytes = 1 << 20;  // what the gateway hands the pipeline at a time

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "pipeline_load: %s\n", what.c_str());
  std::exit(1);
}

struct Args {
  std::string config;
  uint64_t size = 64 << 20;
  int count = 16;
  int parallel = 4;
};

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    std::string value = argv[i + 1];
    if (flag == "--config")
      a.config = value;
    else if (flag == "--size")
      a.size = std::stoull(value);
    else if (flag == "--count")
      a.count = std::stoi(value);
    else if (flag == "--parallel")
      a.parallel = std::stoi(value);
    else
      Die("unknown flag " + flag);
  }
  if (a.config.empty() || a.count < 1 || a.parallel < 1) Die("usage: see the file's header");
  return a;
}

// Object i's bytes: cheap to make and to check, different per object.
void Fill(std::vector<std::byte>& buf, int object) {
  for (size_t at = 0; at < buf.size(); at += 8) {
    uint64_t v = (uint64_t(object) << 40) ^ (at * 0x9E3779B97F4A7C15ull);
    std::memcpy(buf.data() + at, &v, std::min<size_t>(8, buf.size() - at));
  }
}

// Runs op(i) for i in [0, count) on `parallel` threads; prints the phase's figures.
template <typename Op>
void Phase(const char* name, const Args& a, Op op) {
  std::vector<double> latency_ms(a.count);
  std::atomic<int> next{0};
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < a.parallel; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::byte> buf(a.size);
      for (int i; (i = next++) < a.count;) {
        auto t0 = Clock::now();
        op(i, buf);
        latency_ms[i] = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      }
    });
  }
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(latency_ms.begin(), latency_ms.end());
  auto pct = [&](double p) { return latency_ms[size_t(p * (latency_ms.size() - 1) + 0.5)]; };
  std::printf(
      "{\"phase\": \"%s\", \"size\": %llu, \"count\": %d, \"parallel\": %d, \"seconds\": %.3f, "
      "\"mib_s\": %.1f, \"ops_s\": %.1f, \"p50_ms\": %.2f, \"p99_ms\": %.2f}\n",
      name, static_cast<unsigned long long>(a.size), a.count, a.parallel, seconds,
      double(a.size) * a.count / (1 << 20) / seconds, a.count / seconds, pct(0.5), pct(0.99));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace mosaic;
  Args a = Parse(argc, argv);
  auto config = gateway::LoadGatewayConfig(a.config);
  if (!config.ok()) Die(config.status().ToString());
  auto ring = client::LoadKeyFile(config->key_file, client::SecretBytes());
  if (!ring.ok()) Die(ring.status().ToString());
  client::NodePool pool(config->nodes, client::RpcOptions());
  client::Pipeline pipeline(*ring, pool, config->pipeline);
  std::vector<client::ObjectManifest> manifests(a.count);
  std::mutex mu;

  Phase("put", a, [&](int i, std::vector<std::byte>& buf) {
    Fill(buf, i);
    auto writer = pipeline.NewWriter();
    if (!writer.ok()) Die(writer.status().ToString());
    for (size_t at = 0; at < buf.size(); at += kIoBytes) {
      size_t n = std::min(kIoBytes, buf.size() - at);
      if (auto s = (*writer)->Write({buf.data() + at, n}); !s.ok()) Die(s.ToString());
    }
    auto manifest = (*writer)->Finish();
    if (!manifest.ok()) Die(manifest.status().ToString());
    std::lock_guard lock(mu);
    manifests[i] = *std::move(manifest);
  });
  Phase("get", a, [&](int i, std::vector<std::byte>& buf) {
    auto reader = pipeline.NewReader(manifests[i], 0, a.size);
    if (!reader.ok()) Die(reader.status().ToString());
    size_t got = 0;
    while (got < buf.size()) {
      size_t want = std::min(kIoBytes, buf.size() - got);
      auto n = (*reader)->Read({buf.data() + got, want});
      if (!n.ok()) Die(n.status().ToString());
      if (*n == 0) break;
      got += *n;
    }
    // A sampled check (one word per 4 KiB), cheap enough not to weigh on the figures.
    for (size_t at = 0; at + 8 <= got; at += 4096) {
      uint64_t v = (uint64_t(i) << 40) ^ (at * 0x9E3779B97F4A7C15ull);
      if (std::memcmp(buf.data() + at, &v, 8) != 0) Die("object read back wrong");
    }
    if (got != a.size) Die("object " + std::to_string(i) + " read back short");
  });
  size_t left = 0;
  for (const auto& m : manifests) left += pipeline.Delete(m).size();
  if (left > 0) std::fprintf(stderr, "%zu shards of the run's objects were not deleted\n", left);
  return 0;
}
