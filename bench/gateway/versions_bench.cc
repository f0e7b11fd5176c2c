// ListObjectVersions at scale (issue 16): the time to read one page of 1,000 versions from a
// bucket holding 10^5 versions, at its start and deep inside it, next to the in-process
// baseline of a ListObjects page of 1,000 keys from a bucket of 10^5 objects (the same store,
// the same rows' sizes). Both must be O(page): the figures stay the same whatever the depth.
//
//   BM_ListVersionsPage/<depth>  MetaStore::ListVersions of 1,000 from version `depth`
//   BM_ListObjectsPage/<depth>   MetaStore::ListObjects of 1,000 from key `depth` (baseline)
//
// The store is filled once (100 keys x 1,000 versions, and 10^5 objects), from 16 threads so
// that commits group. Data lives under $MOSAIC_BENCH_DIR (default /var/tmp).

#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server/gateway/meta/meta_store.h"

namespace mosaic::bench {
namespace {

constexpr int kKeys = 100;
constexpr int kVersionsPerKey = 1000;
constexpr int kTotal = kKeys * kVersionsPerKey;
constexpr int kThreads = 16;
constexpr size_t kPage = 1000;

struct Env {
  std::string dir;
  std::unique_ptr<gateway::MetaStore> store;
};
Env* g = nullptr;

v1::ObjectRecord Object(const std::string& piece) {
  v1::ObjectRecord r;
  r.set_etag("0123456789abcdef0123456789abcdef");
  r.set_last_modified_ms(1765000000000);
  r.set_size(65536);
  v1::ObjectPart* part = r.add_parts();
  part->mutable_manifest()->set_object_id(piece);
  part->mutable_manifest()->set_size(65536);
  return r;
}

std::string KeyName(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "key/%06d", i);
  return buf;
}

void Fill() {
  auto& s = *g->store;
  v1::BucketRecord versioned;
  versioned.set_versioning(v1::BucketRecord::ENABLED);
  if (!s.CreateBucket("versions", versioned).ok() ||
      !s.CreateBucket("objects", v1::BucketRecord()).ok()) {
    std::abort();
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      for (int i = t; i < kTotal; i += kThreads) {
        std::string n = std::to_string(i);
        // Version i of key i % kKeys: every key gets its versions spread over the fill.
        if (!g->store->PutObject("versions", KeyName(i % kKeys), Object("v" + n)).ok() ||
            !g->store->PutObject("objects", KeyName(i), Object("o" + n)).ok()) {
          std::abort();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
}

void Setup(const benchmark::State&) {
  if (g != nullptr) return;
  g = new Env;
  const char* base = std::getenv("MOSAIC_BENCH_DIR");
  std::string tmpl = std::string(base ? base : "/var/tmp") + "/versions_bench.XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) std::abort();
  g->dir = tmpl;
  auto store = gateway::MetaStore::Open(g->dir);
  if (!store.ok()) std::abort();
  g->store = std::move(*store);
  Fill();
}

// The (key, version) at which a listing `depth` versions deep starts.
std::pair<std::string, std::optional<std::string>> MarkerAt(int64_t depth) {
  if (depth == 0) return {"", std::nullopt};
  auto rows = g->store->ListVersions("versions", "", "", std::nullopt, size_t(depth));
  if (!rows.ok() || rows->size() != size_t(depth)) std::abort();
  const auto& last = rows->back();
  return {last.key, last.record.version_id()};
}

void BM_ListVersionsPage(benchmark::State& state) {
  auto [from, after] = MarkerAt(state.range(0));
  for (auto _ : state) {
    auto rows = g->store->ListVersions("versions", "", from, after, kPage);
    if (!rows.ok() || rows->size() != kPage) std::abort();
    benchmark::DoNotOptimize(rows->data());
  }
  state.SetItemsProcessed(state.iterations() * kPage);
}

void BM_ListObjectsPage(benchmark::State& state) {
  std::string start = state.range(0) == 0 ? "" : KeyName(int(state.range(0)));
  for (auto _ : state) {
    auto rows = g->store->ListObjects("objects", "", start, kPage);
    if (!rows.ok() || rows->size() != kPage) std::abort();
    benchmark::DoNotOptimize(rows->data());
  }
  state.SetItemsProcessed(state.iterations() * kPage);
}

BENCHMARK(BM_ListVersionsPage)
    ->Setup(Setup)
    ->Arg(0)
    ->Arg(50000)
    ->Arg(98000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ListObjectsPage)
    ->Setup(Setup)
    ->Arg(0)
    ->Arg(50000)
    ->Arg(98000)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mosaic::bench

BENCHMARK_MAIN();
