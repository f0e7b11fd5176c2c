#pragma once
// Fetches and decodes one stripe without blocking any thread (ObjectReader's unit of work).
//
// The k data shards are asked at once. Each reply, and the pipeline's timer (for hedging and
// the stripe deadline), moves the fetch on: a shard that fails, fails its tag, or is slower
// than the others by the hedge margin is replaced by asking a parity shard, and the stripe is
// decoded from any k good shards — on a pipeline worker, or on the replying gRPC thread when
// the stripe is small enough that decoding costs less than a thread hop. A stripe with too
// few good shards fails with UNAVAILABLE naming the stripe and the nodes tried; one whose
// shards do not all answer within stripe_timeout fails with UNAVAILABLE too.
//
// `done` runs exactly once, on a gRPC, timer or worker thread (or within Start when the
// fetch cannot begin). After it the fetch no longer touches the codec, the pipeline's nodes
// or anything of the caller's; late replies only give their buffers back.

#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "client/pipeline/pipeline.h"
#include "client/pipeline/shard_codec.h"
#include "common/aligned_buffer.h"

namespace mosaic::client {

struct StripeFetchResult {
  absl::Status status;
  AlignedBuffer plaintext;  // stripe.plaintext_bytes, from BufferPool::Global(), when OK
  std::vector<BadShard> faults;
};

// Stripes up to this size are decoded on the gRPC thread that delivered their last shard.
inline constexpr size_t kInlineDecodeBytes = size_t{256} << 10;

// Starts fetching `stripe`, whose shards are on `nodes` (by shard index). `codec` must stay
// alive until `done` has run.
void StartStripeFetch(Pipeline& pipeline, const ShardCodec& codec, const StripeInfo& stripe,
                      std::vector<std::string> nodes,
                      absl::AnyInvocable<void(StripeFetchResult)> done);

}  // namespace mosaic::client
