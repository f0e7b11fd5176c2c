#include "client/pipeline/stripe_repair.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "client/pipeline/shard_codec.h"
#include "client/pipeline/stripe_layout.h"
#include "common/buffer_pool.h"
#include "common/bytes.h"
#include "common/latch.h"

namespace mosaic::client {
namespace {

// The shards of the stripe whose node is known, usable and not avoided, in shard order.
std::vector<int> ReadableShards(Pipeline& pipeline, const StripePlacement& placement, int n,
                                const std::function<bool(const std::string&)>& avoid) {
  std::vector<int> readable;
  for (int s = 0; s < n; ++s) {
    const std::string& id = placement.nodes[s];
    int node = pipeline.pool().IndexOf(id);
    if (node < 0 || (avoid && avoid(id)) || !pipeline.Readable(node)) continue;
    readable.push_back(s);
  }
  return readable;
}

// Fetches shards `ask` of the stripe into their slots of `out` (n slots), into buffers from
// BufferPool::Global() (the caller gives them back).
void FetchShards(Pipeline& pipeline, const ShardCodec& codec, const StripePlacement& placement,
                 uint64_t stripe, const std::vector<int>& ask,
                 std::vector<absl::StatusOr<AlignedBuffer>>& out) {
  auto fetched = std::make_shared<std::vector<absl::StatusOr<AlignedBuffer>>>();
  for (size_t s = 0; s < out.size(); ++s) fetched->emplace_back(absl::UnavailableError(""));
  // Each callback writes its own slot before Done(); Wait() returns after the last Done().
  auto latch = std::make_shared<Latch>(static_cast<int>(ask.size()));
  for (int s : ask) {
    int node = pipeline.pool().IndexOf(placement.nodes[s]);
    pipeline.pool().node(node).GetBuffer(
        ChunkIdString(codec.ChunkIdOf(stripe, s)), 0, 0,
        [latch, fetched, s](absl::StatusOr<AlignedBuffer> r) {
          (*fetched)[s] = std::move(r);
          latch->Done();
        },
        pipeline.options().stripe_timeout);
  }
  latch->Wait();
  for (int s : ask) out[s] = std::move((*fetched)[s]);
}

// Puts `data` (sent without a copy: gRPC holds `owner` until it is done with the bytes).
absl::Status PutShard(Pipeline& pipeline, int node, const std::string& chunk_id, ConstByteSpan data,
                      std::shared_ptr<const void> owner) {
  auto latch = std::make_shared<Latch>(1);
  auto status = std::make_shared<absl::Status>();
  pipeline.pool().node(node).Put(
      chunk_id, data,
      [latch, status](absl::Status s) {
        *status = std::move(s);
        latch->Done();
      },
      std::move(owner));
  latch->Wait();
  return *status;
}

}  // namespace

StripeRepairResult RepairStripe(Pipeline& pipeline, const ObjectManifest& manifest, uint64_t stripe,
                                const std::vector<int>& shards,
                                const std::function<bool(const std::string&)>& avoid,
                                const std::function<bool(const std::string&)>& no_new_shards) {
  StripeRepairResult result;
  const int n = manifest.k + manifest.m;
  if (stripe >= manifest.stripes.size() || manifest.stripes[stripe].nodes.size() != size_t(n)) {
    result.status = absl::InvalidArgumentError("no stripe " + std::to_string(stripe));
    return result;
  }
  erasure::ShardMask wanted = 0;
  for (int s : shards) {
    if (s < 0 || s >= n) {
      result.status = absl::InvalidArgumentError("no shard " + std::to_string(s));
      return result;
    }
    wanted |= erasure::ShardMask{1} << s;
  }
  auto key = pipeline.ring().UnwrapDataKey(AsBytes(manifest.wrapped_key), manifest.object_id);
  if (!key.ok()) {
    result.status = key.status();
    return result;
  }
  auto codec =
      ShardCodec::Create({manifest.k, manifest.m, manifest.stripe_bytes, manifest.algorithm},
                         pipeline.ring(), *key, manifest.object_id);
  auto layout = StripeLayout::Create(manifest.size, manifest.stripe_bytes, manifest.k);
  if (!codec.ok() || !layout.ok() || layout->StripeCount() != manifest.stripes.size()) {
    result.status = !codec.ok()    ? codec.status()
                    : !layout.ok() ? layout.status()
                                   : absl::DataLossError("manifest stripe count mismatch");
    return result;
  }
  const StripePlacement& placement = manifest.stripes[stripe];
  StripeInfo info = layout->Stripe(stripe);
  // k sources first (the rebuild opens k), the other readable ones only when those do not
  // verify: each source read costs a node read and its bytes through gRPC.
  std::vector<int> readable = ReadableShards(pipeline, placement, n, avoid);
  const size_t first = std::min(readable.size(), size_t(manifest.k));
  std::vector<absl::StatusOr<AlignedBuffer>> fetched;
  for (int s = 0; s < n; ++s) fetched.emplace_back(absl::UnavailableError("not fetched"));
  FetchShards(pipeline, **codec, placement, stripe, {readable.begin(), readable.begin() + first},
              fetched);
  size_t shard_bytes = (*codec)->SealedShardBytes(info.plaintext_bytes);
  std::vector<std::shared_ptr<AlignedBuffer>> rebuilt(n);  // pooled, overwritten whole
  std::vector<ByteSpan> out(n);
  for (int s : shards) {
    rebuilt[s] = BufferPool::Global().TakeShared(shard_bytes);
    out[s] = rebuilt[s]->span();
  }
  ShardCodec::Workspace workspace = (*codec)->NewWorkspace();
  std::vector<ConstByteSpan> sealed(n);
  auto rebuild = [&] {
    for (int s = 0; s < n; ++s) sealed[s] = fetched[s].ok() ? fetched[s]->span() : ConstByteSpan();
    return (*codec)->RebuildShards(info, sealed, wanted, out, workspace);
  };
  StripeReadResult read = rebuild();
  if (read.status.code() == absl::StatusCode::kUnavailable && first < readable.size()) {
    FetchShards(pipeline, **codec, placement, stripe, {readable.begin() + first, readable.end()},
                fetched);
    read = rebuild();
  }
  for (int s : readable) {
    if (fetched[s].status().code() == absl::StatusCode::kNotFound ||
        fetched[s].status().code() == absl::StatusCode::kDataLoss) {
      result.faults.push_back({stripe, s, placement.nodes[s], fetched[s].status()});
    }
  }
  for (const ShardFault& f : read.faults) {
    result.faults.push_back({stripe, f.shard_index, placement.nodes[f.shard_index], f.status});
  }
  for (auto& f : fetched) {  // the sources are no longer needed
    if (f.ok()) BufferPool::Global().Give(std::move(*f));
  }
  if (!read.status.ok()) {
    result.status = read.status;
    return result;
  }
  // Where the stripe's shards are, as placer indices; the shards being re-placed count where
  // they will be, so two new shards do not land together.
  std::vector<int> where(n, -1);
  for (int s = 0; s < n; ++s) {
    if (!(wanted & (erasure::ShardMask{1} << s))) {
      where[s] = pipeline.pool().IndexOf(placement.nodes[s]);
    }
  }
  auto usable = [&](int i) {
    const std::string& id = pipeline.pool().node(i).id();
    return pipeline.Usable(i) && !(avoid && avoid(id)) && !(no_new_shards && no_new_shards(id));
  };
  std::string placement_key =
      HexEncode(std::as_bytes(std::span(manifest.object_id))) + "/" + std::to_string(stripe);
  std::shared_ptr<const Placer> placer = pipeline.placer();
  for (int s : shards) {
    ReplacedShard r{s, absl::UnavailableError("no usable node for the shard"), ""};
    std::vector<int> tried;
    if (int old = pipeline.pool().IndexOf(placement.nodes[s]); old >= 0) tried.push_back(old);
    std::string chunk_id = ChunkIdString((*codec)->ChunkIdOf(stripe, s));
    for (;;) {
      int node = placer->NextCandidate(placement_key, where, s, tried, usable);
      if (node < 0) break;
      absl::Status put = PutShard(pipeline, node, chunk_id, rebuilt[s]->span(), rebuilt[s]);
      if (put.ok()) {
        r.status = absl::OkStatus();
        r.node_id = pipeline.pool().node(node).id();
        where[s] = node;
        result.bytes_written += shard_bytes;
        break;
      }
      r.status = absl::UnavailableError("put on " + pipeline.pool().node(node).id() + ": " +
                                        std::string(put.message()));
      tried.push_back(node);
    }
    result.shards.push_back(std::move(r));
  }
  return result;
}

}  // namespace mosaic::client
