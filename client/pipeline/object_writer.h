#pragma once
// Writes one object through the pipeline: plaintext in, manifest out.
//
// The plaintext is cut into stripes as it arrives. A stripe is sealed and encoded on the
// pipeline's workers and its k+m shards are sent to their nodes in parallel, several stripes
// at a time, within the pipeline's byte budget: Write blocks while the budget is spent, so
// memory does not grow with the object. A stripe is done when all its shards are
// acknowledged durable. A failed shard put is retried on the next candidate node (another
// provider first); when no candidate is left the object fails with UNAVAILABLE and every
// shard written so far is deleted. The last stripe is sealed as last only at Finish (its
// flag is bound into the shards), so one full stripe waits for the next byte.
//
// One thread at a time may call Write/Finish/Abort (they block); the work runs elsewhere.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/status/statusor.h"
#include "client/pipeline/pipeline.h"
#include "client/pipeline/shard_codec.h"
#include "common/aligned_buffer.h"

namespace mosaic::client {

class ObjectWriter {
 public:
  ~ObjectWriter();  // Abort()s if neither Finish nor Abort was called.

  // Appends `data`. Returns the write's first error, if any (later calls return it too).
  [[nodiscard]] absl::Status Write(ConstByteSpan data);
  // Seals the last stripe, waits until every shard is durable, and returns the manifest.
  // On failure deletes what was written and returns the error (UNAVAILABLE when too few
  // nodes accepted shards).
  [[nodiscard]] absl::StatusOr<ObjectManifest> Finish();
  // Stops and deletes whatever was written.
  void Abort();

  // Says how many bytes the object will have (a Content-Length), so that the first stripe's
  // buffer is taken at that size (at most a stripe) instead of growing to it. Optional;
  // call before the first Write.
  void ExpectBytes(uint64_t bytes) { expected_bytes_ = bytes; }

  uint64_t bytes_written() const { return bytes_; }
  const ObjectId& object_id() const { return manifest_.object_id; }

  struct Stripe;  // one stripe in flight

 private:
  friend class Pipeline;
  ObjectWriter(Pipeline& pipeline, std::unique_ptr<ShardCodec> codec, ObjectManifest manifest);

  void Grow(size_t wanted);
  void Dispatch(bool last);
  void Encode(std::shared_ptr<Stripe> s);
  void SendShard(std::shared_ptr<Stripe> s, int slot);
  void ShardDone(std::shared_ptr<Stripe> s, int slot, absl::Status status);
  void StripeDone(Stripe& s, absl::Status status);
  void Fail(absl::Status status);
  void WaitIdle();
  // Reports stripes of the finished object placed with two shards at one provider.
  void ReportSpread();
  void DeleteWritten();
  absl::Status Reserve(uint64_t stripe);

  Pipeline& pipeline_;
  std::unique_ptr<ShardCodec> codec_;
  ObjectManifest manifest_;
  uint64_t bytes_ = 0;
  uint64_t next_stripe_ = 0;
  uint64_t expected_bytes_ = 0;
  // The stripe being filled, from BufferPool::Global(): empty until the first byte, then as
  // large as the bytes expected, doubling up to a stripe.
  AlignedBuffer current_;
  size_t current_fill_ = 0;
  bool finished_ = false;

  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t in_flight_bytes_ = 0;
  int in_flight_stripes_ = 0;
  absl::Status error_;
  std::vector<std::pair<std::string, std::string>> written_;  // (node id, chunk id)
  // Ids added to the pipeline's InFlightChunks, removed by the destructor.
  std::vector<std::string> registered_;
  // The pipeline's WriteJournal when the writer was made (or null), and the stripes reserved
  // in it (by the caller's thread only).
  WriteJournal* const journal_;
  uint64_t reserved_stripes_ = 0;
};

}  // namespace mosaic::client
