// ListObjectsV2 page time at 10^5 keys on each metadata backend (issue 17), same run, same
// process: a page of 1,000 keys (S3's default MaxKeys) read by MetaStore::ListObjects, the
// call ListObjectsV2 makes, at the start, the middle and near the end of a bucket of 100,000
// objects (one-piece records as a 64 KiB PUT leaves them), from
//
//   BM_ListPage_RocksDb        RocksDB, one gateway
//   BM_ListPage_Postgres       PostgreSQL, one gateway (one MetaStore, its pool)
//   BM_ListPage_Postgres2      PostgreSQL, two gateways listing at once (two MetaStores on
//                              one database, one thread each; time per page per gateway)
//
// The PostgreSQL server is a LocalPostgres of its own under $MOSAIC_BENCH_DIR (default
// /var/tmp), on a Unix socket; the objects are written with PutRaw in the store's key schema
// (`b`, `o` rows), the same rows in both backends. The HTTP and XML around a page are the
// same for both backends and not measured here (bench/load/s3bench_metadata.sh does PUT/GET
// through S3).

#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "server/gateway/meta/local_postgres.h"
#include "server/gateway/meta/meta_store.h"

namespace mosaic::bench {
namespace {

constexpr int kObjects = 100000;
constexpr size_t kPage = 1000;

struct Env {
  std::string dir;
  std::unique_ptr<gateway::meta::LocalPostgres> pg;
  std::unique_ptr<gateway::MetaStore> rocks, pg1, pg2;
};
Env* g = nullptr;

std::string KeyName(int i) {
  char key[32];
  std::snprintf(key, sizeof key, "objects/%08d", i);
  return key;
}

void Fill(gateway::MetaStore& store) {
  if (!store.CreateBucket("bench", v1::BucketRecord()).ok()) std::abort();
  // One record as a 64 KiB PUT leaves it; each row names its own piece.
  v1::ObjectRecord r;
  r.set_etag(std::string(32, 'e'));
  r.set_last_modified_ms(1765000000000);
  r.set_size(65536);
  (*r.mutable_headers())["content-type"] = "application/octet-stream";
  r.add_parts()->set_etag(r.etag());
  std::vector<std::pair<std::string, std::string>> batch;
  for (int i = 0; i < kObjects; ++i) {
    r.mutable_parts(0)->set_piece_id("piece-" + std::to_string(i));
    batch.emplace_back(std::string("obench") + '\0' + KeyName(i), r.SerializeAsString());
    if (batch.size() == 10000) {
      if (!store.PutRaw(batch).ok()) std::abort();
      batch.clear();
    }
  }
}

std::unique_ptr<gateway::MetaStore> OpenPostgres() {
  gateway::MetadataConfig config;
  config.backend = gateway::MetadataConfig::Backend::kPostgres;
  config.postgres.dsn = g->pg->Dsn("bench");
  auto store = gateway::MetaStore::Open(config, g->dir);
  if (!store.ok()) std::abort();
  return std::move(*store);
}

void Setup(const benchmark::State&) {
  if (g != nullptr) return;
  g = new Env;
  const char* base = std::getenv("MOSAIC_BENCH_DIR");
  std::string tmpl = std::string(base ? base : "/var/tmp") + "/meta_list_bench.XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) std::abort();
  g->dir = tmpl;
  std::filesystem::permissions(g->dir, std::filesystem::perms::others_exec,
                               std::filesystem::perm_options::add);
  auto rocks = gateway::MetaStore::Open(g->dir + "/rocks");
  auto pg = gateway::meta::LocalPostgres::Start(g->dir + "/pg", {.durable = false});
  if (!rocks.ok() || !pg.ok() || !pg->CreateDatabase("bench").ok()) std::abort();
  g->rocks = std::move(*rocks);
  g->pg = std::make_unique<gateway::meta::LocalPostgres>(std::move(*pg));
  g->pg1 = OpenPostgres();
  g->pg2 = OpenPostgres();
  Fill(*g->rocks);
  Fill(*g->pg1);
}

void ListPages(benchmark::State& state, const gateway::MetaStore& store) {
  std::string start = state.range(0) == 0 ? "" : KeyName(int(state.range(0)));
  for (auto _ : state) {
    auto rows = store.ListObjects("bench", "", start, kPage + 1);  // + 1: IsTruncated
    if (!rows.ok() || rows->size() != kPage + 1) std::abort();
    benchmark::DoNotOptimize(rows->data());
  }
  state.SetItemsProcessed(state.iterations() * kPage);
}

void BM_ListPage_RocksDb(benchmark::State& state) { ListPages(state, *g->rocks); }
void BM_ListPage_Postgres(benchmark::State& state) { ListPages(state, *g->pg1); }
void BM_ListPage_Postgres2(benchmark::State& state) {
  ListPages(state, state.thread_index() == 0 ? *g->pg1 : *g->pg2);
}

BENCHMARK(BM_ListPage_RocksDb)
    ->Setup(Setup)
    ->Arg(0)
    ->Arg(50000)
    ->Arg(98000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ListPage_Postgres)
    ->Setup(Setup)
    ->Arg(0)
    ->Arg(50000)
    ->Arg(98000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ListPage_Postgres2)
    ->Setup(Setup)
    ->Arg(0)
    ->Arg(50000)
    ->Arg(98000)
    ->Threads(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mosaic::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  using mosaic::bench::g;
  if (g != nullptr) {  // the server and the data go with the run
    g->rocks.reset();
    g->pg1.reset();
    g->pg2.reset();
    if (!g->pg->Stop().ok())
      std::fprintf(stderr, "PostgreSQL in %s did not stop\n", g->dir.c_str());
    std::filesystem::remove_all(g->dir);
  }
  return 0;
}
