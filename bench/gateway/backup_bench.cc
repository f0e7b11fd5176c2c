// Metadata backup and restore cost (issue 8): a gateway metadata store holding
// $MOSAIC_BENCH_OBJECTS objects (default 100,000; one piece each, its manifest placed on the
// 6 nodes), backed up and restored against 6 real `mosaic node` processes on loopback, next
// to the raw baseline in the same run:
//
//   BM_BackupSnapshot  MetadataBackup::RunOnce on a store with no backup yet: the snapshot
//                      walked, serialised, encrypted, erasure-coded and put, and the root
//                      written to every node; wall-clock time
//   BM_Restore         RestoreMetadata into a new folder: root found, snapshot read and
//                      decoded, records written, counted, and every piece's shards checked
//                      against the nodes' listings (the shards are not there: the pieces are
//                      made up, so all count as missing, which costs the same); wall-clock
//   BM_LocalCopy       the baseline: the same records copied from one RocksDB to a new one
//                      in the same process (VisitSnapshot, PutRaw), no encoding, no network
//
// Each counts the snapshot's records as items. Node data lives under $MOSAIC_BENCH_DIR
// (default /var/tmp). The objects are written with PutRaw in the store's key schema
// (docs/architecture.md: `b`, `o`, `m` keys), not through PutObject, to set up in seconds.

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_nodes.h"
#include "client/pipeline/pipeline.h"
#include "common/metrics.h"
#include "common/status.h"
#include "server/gateway/backup/restore.h"
#include "server/gateway/jobs/metadata_backup.h"
#include "server/gateway/meta/meta_store.h"

namespace mosaic::bench {
namespace {

constexpr int kNodes = 6;

struct Env {
  std::vector<std::unique_ptr<test::NodeProcess>> nodes;
  std::unique_ptr<client::KeyRing> ring;
  std::unique_ptr<client::NodePool> pool;
  std::unique_ptr<client::Pipeline> pipeline;
  std::string dir;
  std::unique_ptr<gateway::MetaStore> store;
  uint64_t objects = 100000;
  uint64_t records = 0;
  int run = 0;
};
Env* g = nullptr;

std::string Fresh(const std::string& what) {
  return g->dir + "/" + what + "-" + std::to_string(++g->run);
}

absl::Status Fill(gateway::MetaStore& store, uint64_t objects) {
  RETURN_IF_ERROR(store.CreateBucket("bench", v1::BucketRecord()));
  std::vector<std::pair<std::string, std::string>> batch;
  for (uint64_t i = 0; i < objects; ++i) {
    std::string piece_id(16, '\0');
    for (int b = 0; b < 8; ++b) piece_id[b] = static_cast<char>(i >> (8 * b));
    v1::PieceRecord piece;
    v1::Manifest* m = piece.mutable_manifest();
    m->set_size(4096 + i % 1000);
    m->set_stripe_bytes(4 << 20);
    m->set_k(4);
    m->set_m(2);
    m->set_wrapped_key(std::string(81, 'w'));
    m->set_object_id(piece_id);
    v1::StripePlacement* s = m->add_stripes();
    for (int n = 0; n < kNodes; ++n) s->add_nodes(g->pool->node(n).id());
    piece.set_references(1);
    v1::ObjectRecord object;
    object.set_etag(std::string(32, 'e'));
    object.set_size(m->size());
    object.set_last_modified_ms(1795000000000);
    (*object.mutable_headers())["content-type"] = "application/octet-stream";
    v1::ObjectPart* part = object.add_parts();
    part->set_piece_id(piece_id);
    part->set_etag(std::string(32, 'e'));
    char key[32];
    std::snprintf(key, sizeof key, "objects/%08llu", static_cast<unsigned long long>(i));
    batch.emplace_back(std::string("obench") + '\0' + key, object.SerializeAsString());
    batch.emplace_back("m" + piece_id, piece.SerializeAsString());
    if (batch.size() >= 20000) {
      RETURN_IF_ERROR(store.PutRaw(batch));
      batch.clear();
    }
  }
  return batch.empty() ? absl::OkStatus() : store.PutRaw(batch);
}

void BM_BackupSnapshot(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    auto store = gateway::MetaStore::Open(Fresh("source"));
    if (!store.ok() || !Fill(**store, g->objects).ok()) {
      state.SkipWithError("cannot fill the store");
      break;
    }
    metrics::Registry registry;
    gateway::MetadataBackup backup(**store, *g->pipeline, registry,
                                   gateway::MetadataBackup::Options{.interval = {}});
    state.ResumeTiming();
    if (!backup.RunOnce().ok()) {
      state.SkipWithError("backup failed");
      break;
    }
    g->store = std::move(*store);
  }
  state.SetItemsProcessed(int64_t(state.iterations() * g->objects * 2));
}

void BM_Restore(benchmark::State& state) {
  for (auto _ : state) {
    auto report =
        gateway::RestoreMetadata(*g->pipeline, Fresh("restored"), [](const std::string&) {});
    if (!report.ok() || report->objects != g->objects) {
      state.SkipWithError("restore failed");
      break;
    }
    g->records = report->records;
  }
  state.SetItemsProcessed(int64_t(state.iterations() * g->records));
}

void BM_LocalCopy(benchmark::State& state) {
  uint64_t records = 0;
  for (auto _ : state) {
    auto copy = gateway::MetaStore::Open(Fresh("copy"));
    std::vector<std::pair<std::string, std::string>> batch;
    records = 0;
    auto walked = g->store->VisitSnapshot([&](std::string_view k, std::string_view v) {
      batch.emplace_back(k, v);
      ++records;
      if (batch.size() < 20000) return absl::OkStatus();
      absl::Status s = (*copy)->PutRaw(batch);
      batch.clear();
      return s;
    });
    if (!copy.ok() || !walked.ok() || !(*copy)->PutRaw(batch).ok()) {
      state.SkipWithError("copy failed");
      break;
    }
  }
  state.SetItemsProcessed(int64_t(state.iterations() * records));
}

BENCHMARK(BM_BackupSnapshot)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Restore)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LocalCopy)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mosaic::bench

int main(int argc, char** argv) {
  using namespace mosaic;
  using namespace mosaic::bench;
  Env env;
  g = &env;
  BenchObjectBytes(0);  // sets TMPDIR from $MOSAIC_BENCH_DIR
  if (const char* n = std::getenv("MOSAIC_BENCH_OBJECTS"); n != nullptr && *n) {
    env.objects = std::strtoull(n, nullptr, 10);
  }
  auto nodes = StartBenchNodes(kNodes);
  if (!nodes.ok()) {
    std::fprintf(stderr, "cannot start the nodes: %s\n", nodes.status().ToString().c_str());
    return 1;
  }
  env.nodes = std::move(*nodes);
  env.ring = test::NewKeyRing();
  env.pool = std::make_unique<client::NodePool>(BenchEndpoints(env.nodes), client::RpcOptions());
  env.pipeline =
      std::make_unique<client::Pipeline>(*env.ring, *env.pool, client::PipelineOptions());
  std::string tmpl = (std::filesystem::temp_directory_path() / "backup_bench.XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) return 1;
  env.dir = tmpl;
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  env.store.reset();
  std::filesystem::remove_all(env.dir);
  return 0;
}
