// Fuzz target: what a node reads back from its own disk, which a crash, a torn write or a
// failing disk can have left in any state: the record header (store/record.h) and the
// recovery of the active segment (SegmentStore::Open replays the records after the
// checkpoint). A store with one chunk is opened on an in-memory file system, closed, the
// input appended to its active segment, and the store opened again.
//
// Byte 0 holds flags: bit 0 re-seals each 4 KiB block that starts with the record magic
// (lengths clamped, header CRC recomputed: else almost every input stops at the CRC), bit 1
// also sets the payload CRC to that of the bytes that follow. The rest is the segment tail.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <string>

#include "bench/fuzz/fuzz_input.h"
#include "common/aligned_buffer.h"
#include "common/bytes.h"
#include "common/check.h"
#include "common/crc32c.h"
#include "server/node/io/faulty_file_system.h"
#include "server/node/store/record.h"
#include "server/node/store/segment_store.h"

namespace {

using namespace mosaic;
using namespace mosaic::node;

// Rewrites the header at `block` (which starts with the magic) into one EncodeRecordHeader
// accepts, keeping the fuzzer's sequence, lengths (clamped) and names.
void Reseal(std::byte* block, size_t room, bool payload_crc) {
  RecordHeader h;
  h.payload_length = LoadLE64(block + 16) % (kMaxRecordPayload + 1);
  h.sequence = LoadLE64(block + 24);
  size_t id_len = std::clamp<size_t>(size_t(block[32]), 1, kMaxChunkIdSize);
  size_t tenant_len = std::clamp<size_t>(size_t(block[33]), 1, kMaxTenantSize);
  h.chunk_id.assign(reinterpret_cast<const char*>(block + 40), id_len);
  h.tenant.assign(reinterpret_cast<const char*>(block + 104), tenant_len);
  h.payload_crc = LoadLE32(block + 12);
  if (payload_crc) {
    size_t have = std::min<uint64_t>(h.payload_length, room - kRecordHeaderSize);
    h.payload_crc = Crc32c({block + kRecordHeaderSize, have});
  }
  EncodeRecordHeader(h, block);
}

StoreOptions Options(const std::string& dir) {
  StoreOptions o;
  o.dir = dir;
  o.reserved_free_bytes = 0;
  o.index_headroom_bytes = 0;
  o.reader_threads = 1;
  o.scrub_bytes_per_second = 0;
  return o;
}

void Recover(const std::string& dir, std::string_view tail) {
  io::FaultyFileSystem fs;
  {
    auto store = SegmentStore::Open(Options(dir), &fs);
    CHECK(store.ok());
    std::string chunk(100, 'x');
    std::promise<void> put;
    (*store)->Put("tenant", "chunk-a", AsBytes(chunk), TenantLimits{},
                  [&](auto) { put.set_value(); });
    put.get_future().wait();
  }
  auto names = fs.ListDir(dir + "/segments");
  CHECK(names.ok() && !names->empty());
  std::string path = dir + "/segments/" + names->back();
  auto file = fs.Open(path, false);
  CHECK(file.ok());
  auto size = (*file)->Size();
  CHECK(size.ok());
  io::WriteOp op{*size, {reinterpret_cast<const std::byte*>(tail.data()), tail.size()}};
  CHECK((*file)->Write({&op, 1}, true).ok());
  file->reset();
  auto again = SegmentStore::Open(Options(dir), &fs);
  if (!again.ok()) return;
  std::promise<void> got;
  // A record of the input may have repointed chunk-a (as a compaction copy would): any
  // answer will do, but a whole read returns the whole chunk.
  (*again)->Get("tenant", "chunk-a", 0, 0, [&](auto r) {
    if (r.ok()) CHECK(r->data().size() == r->chunk_length);
    got.set_value();
  });
  got.get_future().wait();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = [] {  // recovery warns about every torn tail: not news here
    spdlog::set_level(spdlog::level::off);
    return true;
  }();
  (void)quiet;
  if (size == 0 || size > (size_t{1} << 20)) return 0;
  uint8_t flags = data[0];
  std::string tail(reinterpret_cast<const char*>(data + 1), size - 1);
  auto* bytes = reinterpret_cast<std::byte*>(tail.data());
  (void)ParseRecordHeader({bytes, tail.size()});
  for (size_t at = 0; (flags & 1) && at + kRecordHeaderSize <= tail.size();
       at += kDirectIoAlignment) {
    if (LoadLE32(bytes + at) == kRecordMagic) Reseal(bytes + at, tail.size() - at, flags & 2);
  }
  if (auto h = ParseRecordHeader({bytes, tail.size()}); h.ok()) {
    CHECK(!h->chunk_id.empty() && h->chunk_id.size() <= kMaxChunkIdSize);
  }
  std::string dir = mosaic::fuzz::NewTempDir("mosaic-fuzz-segment");
  Recover(dir, tail);
  std::filesystem::remove_all(dir);
  return 0;
}
