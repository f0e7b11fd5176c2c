#pragma once
// Reads a byte range of an object through the pipeline.
//
// Each stripe the range touches is fetched without parking a thread (stripe_fetch.h): the k
// data shards are asked in parallel; a shard that fails, fails its tag, or is slower than the
// others by the hedge margin is replaced by asking a parity shard, and the stripe is decoded
// from any k good shards on the pipeline's workers. Stripes are fetched ahead of the consumer
// within the reader's byte budget and the pipeline's ReadBudget, which all readers share
// (read_budget.h). A stripe with too few good shards fails promptly with UNAVAILABLE naming the
// stripe and the nodes tried. Bad shards are reported, with the node that served them, by faults().
//
// One thread at a time calls Read (it blocks); fetches run elsewhere.

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "client/pipeline/pipeline.h"
#include "client/pipeline/shard_codec.h"
#include "client/pipeline/stripe_fetch.h"
#include "client/pipeline/stripe_layout.h"

namespace mosaic::client {

class ObjectReader {
 public:
  ~ObjectReader();  // waits for fetches in flight

  // Starts fetching the range's first stripes (within the budget) without waiting: a reader
  // of the next piece of a multipart object can fill while the current one is consumed.
  // Read starts them too; calling Start is never required.
  void Start();

  // Copies the next bytes of the range into `out`; returns how many (0 at the end).
  [[nodiscard]] absl::StatusOr<size_t> Read(ByteSpan out);
  // The next bytes of the range, at most `max`, without copying them: a view into the
  // decoded stripe, valid until the next Read or Next call or the reader's end (the stripe
  // is given back then). Empty at the end. Same errors as Read.
  [[nodiscard]] absl::StatusOr<ConstByteSpan> Next(size_t max);
  // Reads the rest of the range into a string (for tests and small objects).
  [[nodiscard]] absl::StatusOr<std::string> ReadAll();

  uint64_t remaining() const { return remaining_; }
  // Shards that failed or were corrupt so far.
  std::vector<BadShard> faults() const;

  struct Fetch;  // one stripe being fetched

 private:
  friend class Pipeline;
  ObjectReader(Pipeline& pipeline, ObjectManifest manifest, std::unique_ptr<ShardCodec> codec,
               StripeLayout layout, StripeLayout::Range range);

  std::vector<std::shared_ptr<Fetch>> Prefetch(bool must_progress);
  // Gives back the front stripe once Next has returned the last of it.
  void ReleaseConsumed();
  void StartFetches(std::vector<std::shared_ptr<Fetch>> fetches);
  void Fetched(std::shared_ptr<Fetch> f, StripeFetchResult r);

  Pipeline& pipeline_;
  ObjectManifest manifest_;
  std::unique_ptr<ShardCodec> codec_;
  StripeLayout layout_;
  StripeLayout::Range range_;
  uint64_t remaining_ = 0;
  uint64_t next_stripe_ = 0;     // next stripe to fetch (absolute index)
  uint64_t consumed_ = 0;        // bytes of the front stripe's slice already returned
  bool front_consumed_ = false;  // all of it: given back at the next call (ReleaseConsumed)

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Fetch>> window_;
  uint64_t in_flight_bytes_ = 0;  // charged to this reader's budget and the ReadBudget
  int running_ = 0;
  std::vector<BadShard> faults_;
};

}  // namespace mosaic::client
