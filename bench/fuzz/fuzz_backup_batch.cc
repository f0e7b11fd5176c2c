// Fuzz target: the write batches inside metadata-backup increments, the bytes `mosaic restore`
// reads back from the nodes and replays (MetaStore::ApplyBatch: RocksDB's WriteBatch parser,
// then one synced write). They arrive decrypted, so only a key holder can forge them, but a
// damaged, truncated or foreign backup can hold anything. The input is one batch.
//
// Promises checked: a refused batch writes nothing (the database's log gains no batch); an
// applied one is logged as exactly the records given (the log's copy, past its 12-byte header
// of sequence and count, is the input's), and the store stays readable. One store is opened per
// process (in /dev/shm when there is one: each batch is a synced write) and reused.

#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "bench/fuzz/fuzz_input.h"
#include "common/check.h"
#include "server/gateway/meta/meta_store.h"

namespace {

using namespace mosaic;
using namespace mosaic::gateway;

constexpr size_t kBatchHeaderBytes = 12;  // sequence (8) and count (4)

struct Store {
  std::string dir;
  std::unique_ptr<MetaStore> meta;
  uint64_t sequence = 0;  // the last one in the log
};

Store& OpenStore() {
  static Store* store = [] {
    spdlog::set_level(spdlog::level::off);
    auto* s = new Store;
    s->dir = mosaic::fuzz::NewTempDir("mosaic-fuzz-batch");
    auto meta = MetaStore::Open(s->dir);
    CHECK(meta.ok());
    s->meta = std::move(*meta);
    auto last = s->meta->VisitUpdatesSince(
        0, [](uint64_t, std::string_view, bool) { return absl::OkStatus(); });
    CHECK(last.ok());
    s->sequence = *last;
    std::atexit([] { std::filesystem::remove_all(store->dir); });
    return s;
  }();
  return *store;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Store& store = OpenStore();
  std::string_view batch(reinterpret_cast<const char*>(data), size);
  absl::Status applied = store.meta->ApplyBatch(batch);
  int logged = 0;
  auto last =
      store.meta->VisitUpdatesSince(store.sequence, [&](uint64_t, std::string_view bytes, bool) {
        ++logged;
        CHECK(applied.ok());
        CHECK(bytes.size() == batch.size() &&
              bytes.substr(kBatchHeaderBytes) == batch.substr(kBatchHeaderBytes));
        return absl::OkStatus();
      });
  CHECK(last.ok());
  CHECK(logged <= 1);
  store.sequence = *last;
  static uint64_t applied_count = 0;
  if (applied.ok() && ++applied_count % 256 == 1) {  // a walk costs the whole store
    auto walked = store.meta->VisitSnapshot(
        [](std::string_view, std::string_view) { return absl::OkStatus(); });
    CHECK(walked.ok());
  }
  return 0;
}
