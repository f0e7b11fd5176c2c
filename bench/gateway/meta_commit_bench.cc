// Grouped metadata commits (issues 14, 17): PutObject commits per second from 1, 4 and 16
// threads on one MetaStore (a transaction each: the bucket's row shared, the object's row
// and the new piece's row locked, two rows written, synced), next to the raw baseline in the
// same process: a plain RocksDB (no transactions) taking synced WriteBatches of the same two
// rows, of the same sizes, from the same number of threads.
//
//   BM_PutObjectCommit  MetaStore::PutObject of a new key naming a new piece
//   BM_RawSyncedBatch   rocksdb::DB::Write(sync) of an equal batch
//
// items_per_second is commits per second (wall clock). Data lives under $MOSAIC_BENCH_DIR
// (default /var/tmp: a real disk, so that fsync costs what it costs).

#include <benchmark/benchmark.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <stdlib.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "server/gateway/meta/meta_store.h"

namespace mosaic::bench {
namespace {

struct Env {
  std::string dir;
  std::unique_ptr<gateway::MetaStore> store;
  std::unique_ptr<rocksdb::DB> raw;
  std::atomic<uint64_t> next{0};
};
Env* g = nullptr;

// A one-piece object as a 64 KiB PUT leaves it: one stripe on 6 nodes.
v1::ObjectRecord Object(const std::string& id) {
  v1::ObjectRecord r;
  r.set_etag("0123456789abcdef0123456789abcdef");
  r.set_last_modified_ms(1765000000000);
  r.set_size(65536);
  (*r.mutable_headers())["content-type"] = "application/octet-stream";
  v1::ObjectPart* part = r.add_parts();
  part->set_etag(r.etag());
  v1::Manifest* m = part->mutable_manifest();
  m->set_object_id(id);
  m->set_size(65536);
  m->set_k(4);
  m->set_m(2);
  m->set_wrapped_key(std::string(72, 'w'));
  v1::StripePlacement* stripe = m->add_stripes();
  for (int i = 0; i < 6; ++i) stripe->add_nodes("provider-" + std::to_string(i) + "-1");
  return r;
}

void BM_PutObjectCommit(benchmark::State& state) {
  for (auto _ : state) {
    std::string id = "piece-" + std::to_string(g->next++);
    absl::Status s = g->store->PutObject("bench", "key/" + id, Object(id)).status();
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PutObjectCommit)->Threads(1)->Threads(4)->Threads(16)->UseRealTime();

void BM_RawSyncedBatch(benchmark::State& state) {
  rocksdb::WriteOptions w;
  w.sync = true;
  for (auto _ : state) {
    std::string id = "piece-" + std::to_string(g->next++);
    v1::ObjectRecord object = Object(id);
    v1::PieceRecord piece;
    *piece.mutable_manifest() = object.parts(0).manifest();
    piece.set_references(1);
    object.mutable_parts(0)->clear_manifest();
    object.mutable_parts(0)->set_piece_id(id);
    rocksdb::WriteBatch batch;
    batch.Put(std::string("obench") + '\0' + "key/" + id, object.SerializeAsString());
    batch.Put("m" + id, piece.SerializeAsString());
    rocksdb::Status s = g->raw->Write(w, &batch);
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RawSyncedBatch)->Threads(1)->Threads(4)->Threads(16)->UseRealTime();

}  // namespace
}  // namespace mosaic::bench

int main(int argc, char** argv) {
  using namespace mosaic;
  benchmark::Initialize(&argc, argv);
  const char* base = getenv("MOSAIC_BENCH_DIR");
  std::string tmpl = std::string(base != nullptr ? base : "/var/tmp") + "/meta_commit_bench.XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  bench::Env env;
  env.dir = tmpl;
  bench::g = &env;
  auto store = gateway::MetaStore::Open(env.dir + "/meta");
  if (!store.ok() || !(*store)->CreateBucket("bench", v1::BucketRecord()).ok()) {
    std::fprintf(stderr, "cannot open the store in %s\n", env.dir.c_str());
    return 1;
  }
  env.store = std::move(*store);
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::Open(options, env.dir + "/raw", &raw).ok()) return 1;
  env.raw.reset(raw);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  env.store.reset();
  env.raw.reset();
  std::filesystem::remove_all(env.dir);
  return 0;
}
