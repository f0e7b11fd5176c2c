// Fuzz target: bytes that come back from storage and are decoded on the gateway: metadata
// backup streams (backup/stream.h), stored manifests (meta/manifest_codec.h, protobuf) and
// the stripe layout they imply, sealed root records (backup/root.h), object records as a
// restore brings them back, and sealed shards as a hostile node serves them
// (client ShardCodec::DecodeStripe). Byte 0 picks which. The key ring is fixed (a zero
// master key) so that seed inputs can hold validly sealed values.

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "bench/fuzz/fuzz_input.h"
#include "client/crypto/key_ring.h"
#include "client/pipeline/shard_codec.h"
#include "client/pipeline/stripe_layout.h"
#include "common/check.h"
#include "server/gateway/backup/root.h"
#include "server/gateway/backup/stream.h"
#include "server/gateway/meta/manifest_codec.h"
#include "server/gateway/s3/attributes.h"
#include "server/gateway/s3/object_checksum.h"

namespace {

using namespace mosaic;
using namespace mosaic::gateway;

const client::KeyRing& Ring() {
  static const client::KeyRing* ring = [] {
    std::vector<std::byte> zero(client::kKeyBytes);
    auto r = client::KeyRing::FromMasterKey(client::SecretBytes::CopyOf(zero));
    CHECK(r.ok());
    return new client::KeyRing(std::move(*r));
  }();
  return *ring;
}

void Stream(std::string_view bytes) {
  uint64_t pairs = 0, batches = 0;
  BackupStreamVisitor visit;
  visit.pair = [&](std::string_view, std::string_view) {
    ++pairs;
    return absl::OkStatus();
  };
  visit.batch = [&](uint64_t, std::string_view) {
    ++batches;
    return absl::OkStatus();
  };
  auto header = DecodeBackupStream(bytes, visit);
  if (header.ok()) CHECK(header->entries == pairs + batches);
}

void Manifest(mosaic::fuzz::FuzzInput& in) {
  uint64_t offset = in.U64(), length = in.U64();
  v1::Manifest proto;
  if (!proto.ParseFromString(std::string(in.Rest()))) return;
  auto m = FromProto(proto);
  if (!m.ok()) return;
  auto layout = client::StripeLayout::Create(m->size, m->stripe_bytes, m->k);
  if (!layout.ok()) return;
  auto range = layout->MapByteRange(offset % (m->size + 1), length);
  if (!range.ok()) return;
  for (uint64_t i = 0; i < std::min<uint64_t>(range->stripe_count, 4); ++i) {
    auto slice = layout->Slice(*range, range->first_stripe + i);
    CHECK(slice.offset + slice.length <= slice.stripe.plaintext_bytes);
  }
}

void Record(mosaic::fuzz::FuzzInput& in) {
  uint32_t part = in.Byte();
  v1::ObjectRecord record;
  if (!record.ParseFromString(std::string(in.Rest()))) return;
  (void)IsMultipartObject(record);
  (void)ChecksumHeaders(record, nullptr);
  auto slice = SliceOfPart(record, part);
  if (slice.ok()) (void)ChecksumHeaders(record, &*slice);
  AttributesRequest all;
  all.etag = all.checksum = all.object_parts = all.storage_class = all.object_size = true;
  (void)AttributesXml(record, all);
}

// A stripe of 4+2 shards sealed under a fixed key; the input says, shard by shard, whether
// it is kept, dropped, replaced by input bytes or has a byte flipped. Whatever the shards,
// a stripe that decodes must decode to the bytes written (the AEAD's promise).
void Shards(mosaic::fuzz::FuzzInput& in) {
  static const client::ShardCodec* codec = [] {
    std::vector<std::byte> key(client::kKeyBytes, std::byte{7});
    client::ObjectId id{};
    auto c = client::ShardCodec::Create({.k = 4, .m = 2, .stripe_bytes = 4096}, Ring(),
                                        client::SecretBytes::CopyOf(key), id);
    CHECK(c.ok());
    return c->release();
  }();
  client::StripeInfo stripe{uint64_t{in.Byte() % 3u}, uint64_t{1 + in.Byte() * 16u}, true};
  std::string plaintext(stripe.plaintext_bytes, '\0');
  for (size_t i = 0; i < plaintext.size(); ++i) plaintext[i] = char(i * 31 + stripe.index);
  size_t shard_bytes = codec->SealedShardBytes(stripe.plaintext_bytes);
  std::vector<std::string> sealed(6, std::string(shard_bytes, '\0'));
  std::vector<ByteSpan> out;
  for (auto& s : sealed) out.push_back({reinterpret_cast<std::byte*>(s.data()), s.size()});
  CHECK(codec->EncodeStripe(stripe, AsBytes(plaintext), out).ok());
  std::vector<ConstByteSpan> given(6);
  for (int i = 0; i < 6; ++i) {
    uint8_t how = in.Byte();
    if (how % 4 == 1) continue;  // dropped
    if (how % 4 == 2) sealed[i] = std::string(in.Bytes(in.Byte() * 8u));
    if (how % 4 == 3 && !sealed[i].empty())
      sealed[i][in.Byte() % sealed[i].size()] ^= char(1 + in.Byte() % 255);
    given[i] = AsBytes(sealed[i]);
  }
  std::string got(stripe.plaintext_bytes, '\0');
  auto workspace = codec->NewWorkspace();
  auto r = codec->DecodeStripe(stripe, given,
                               {reinterpret_cast<std::byte*>(got.data()), got.size()}, workspace);
  if (r.status.ok()) CHECK(got == plaintext);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mosaic::fuzz::FuzzInput in(data, size);
  switch (in.Byte() % 5) {
    case 0:
      Stream(in.Rest());
      break;
    case 1:
      Manifest(in);
      break;
    case 2: {
      int slot = in.Byte() % kRootSlots;
      (void)OpenRoot(Ring(), in.Rest(), slot);
      break;
    }
    case 3:
      Record(in);
      break;
    default:
      Shards(in);
      break;
  }
  return 0;
}
