#pragma once
// The object pipeline: objects written once as encrypted, erasure-coded stripes spread over
// providers' nodes, and read back fast when some providers are slow, down or lying.
// docs/architecture.md ("The object pipeline") gives the write and read paths, their
// ordering and failure rules.
//
// A Pipeline is shared by every writer and reader of a gateway. It borrows the KeyRing and
// NodePool (both must outlive it) and owns a worker pool that seals, encodes, decodes and
// waits on shard fetches. All methods are thread-safe.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "client/crypto/key_ring.h"
#include "client/crypto/shard_sealer.h"
#include "client/pipeline/read_budget.h"
#include "client/pipeline/timer.h"
#include "client/placement/placement.h"
#include "client/placement/spread_log.h"
#include "client/rpc/node_pool.h"
#include "common/bytes.h"
#include "common/thread_pool.h"

namespace mosaic::client {

// Where the shards of one stripe are: node ids indexed by shard (k data, then m parity).
struct StripePlacement {
  std::vector<std::string> nodes;
};

// Everything needed to read, repair or delete an object, to be stored in metadata.
struct ObjectManifest {
  uint64_t size = 0;
  uint64_t stripe_bytes = 0;
  int k = 0;
  int m = 0;
  SealAlgorithm algorithm = SealAlgorithm::kAes256Gcm;
  std::string wrapped_key;  // the data key, wrapped under the master key
  ObjectId object_id{};
  std::vector<StripePlacement> stripes;
};

// How many whole providers the object survives losing, in the worst case over its stripes
// (-1 if some stripe is already unreadable). `provider_of` maps node ids to providers.
int ManifestLossesSurvived(const ObjectManifest& manifest, const NodePool& pool);

struct PipelineOptions {
  int k = 4;
  int m = 2;
  uint64_t stripe_bytes = uint64_t{4} << 20;
  SealAlgorithm algorithm = PreferredSealAlgorithm();
  // Bytes one writer or reader may hold in flight (plaintext, sealed shards and the copies
  // in requests); the number of stripes in flight follows from it, at least one.
  uint64_t budget_bytes = uint64_t{64} << 20;
  // Bytes all readers together may hold in stripes fetched ahead (ReadBudget: each reader
  // may always have one stripe; beyond that, at most total / readers each).
  uint64_t read_budget_bytes = uint64_t{256} << 20;
  // A shard is hedged (a parity shard asked instead) when it is slower than
  // hedge_margin × the median latency of the shards already in, plus hedge_delay.
  double hedge_margin = 2.0;
  std::chrono::milliseconds hedge_delay{30};
  // A stripe that cannot be read within this time fails with UNAVAILABLE.
  std::chrono::milliseconds stripe_timeout{30000};
  int worker_threads = 8;
};

// A shard that failed or was corrupt, with the node that served it.
struct BadShard {
  uint64_t stripe = 0;
  int shard_index = 0;
  std::string node_id;
  absl::Status status;
};

// `manifest` with only the shards in `failed` still placed (every other node id ""): what
// is left to delete after Pipeline::Delete returned `failed`. Pure.
ObjectManifest ShardsLeft(const ObjectManifest& manifest, const std::vector<BadShard>& failed);

class ObjectWriter;
class ObjectReader;

// The chunk ids of shards that writers still alive are writing or have written: a writer
// adds each id before its first Put and removes them all when it is destroyed (after the
// caller committed or dropped its manifest). The orphan sweep never deletes these.
// Thread-safe; ids are counted, so adding one twice needs two removals.
class InFlightChunks {
 public:
  void Add(const std::string& chunk_id);
  void Remove(const std::vector<std::string>& chunk_ids);
  bool Contains(const std::string& chunk_id) const;
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, int> ids_;
};

// Where writers record their objects before any shard of them exists, for processes that
// share the metadata ("mark uploading first": another gateway's orphan sweep spares what is
// recorded; server/gateway/meta/write_journal.h). A writer reserves stripes [0, stripes) of
// its object before it sends the first shard of stripe stripes - 1 (doubling, so an object of
// s stripes makes O(log s) reservations), and releases the object when it is destroyed (after
// the caller committed its manifest or deleted its data). Thread-safe.
class WriteJournal {
 public:
  virtual ~WriteJournal() = default;
  // Blocks until recorded; an error fails the write (nothing of that stripe is sent).
  [[nodiscard]] virtual absl::Status Reserve(const ObjectId& object, int shards,
                                             uint64_t stripes) = 0;
  // Does not block on the database (the record may go later).
  virtual void Release(const ObjectId& object) = 0;
};

class Pipeline {
 public:
  Pipeline(const KeyRing& ring, NodePool& pool, PipelineOptions options);
  ~Pipeline();

  // A writer for a new object with the pipeline's profile, or with k, m given (per bucket).
  [[nodiscard]] absl::StatusOr<std::unique_ptr<ObjectWriter>> NewWriter();
  [[nodiscard]] absl::StatusOr<std::unique_ptr<ObjectWriter>> NewWriter(int k, int m);

  // A reader of [offset, offset + length) of the object (length clamped to its end).
  // OUT_OF_RANGE if offset > size; DATA_LOSS / FAILED_PRECONDITION if the data key cannot be
  // unwrapped with this master key.
  [[nodiscard]] absl::StatusOr<std::unique_ptr<ObjectReader>> NewReader(
      const ObjectManifest& manifest, uint64_t offset, uint64_t length);

  // Deletes every shard of the object. Returns the shards that could not be deleted
  // (node down, …) so that the caller can queue them for retry (ShardsLeft); a shard already
  // missing is not a failure; a shard whose node id is "" is skipped (already deleted). Blocks
  // until every node answered or timed out. At most kMaxDeletesInFlight deletes are
  // outstanding.
  static constexpr size_t kMaxDeletesInFlight = 64;
  [[nodiscard]] std::vector<BadShard> Delete(const ObjectManifest& manifest);

  const KeyRing& ring() const { return ring_; }
  NodePool& pool() { return pool_; }
  // The placer for the nodes in the pool now: a snapshot, replaced (not changed) when a node
  // is added, so a caller keeps using the one it took. Indices agree with pool() (nodes are
  // only appended), so a snapshot's indices stay valid in the pool and in later snapshots.
  std::shared_ptr<const Placer> placer() const;
  // Adds a node to the pool and to placement (`mosaic node add`): new stripes may go to it at
  // once. Returns its index. Errors of NodePool::Add.
  [[nodiscard]] absl::StatusOr<int> AddNode(NodeEndpoint endpoint);
  const PipelineOptions& options() const { return options_; }
  ThreadPool& workers() { return workers_; }
  // Wake-ups of stripe fetches (hedging a slow shard, the stripe deadline).
  Timer& timer() { return timer_; }
  // The read-ahead budget every ObjectReader of this pipeline shares.
  ReadBudget& read_budget() { return read_budget_; }
  // Whether node `node` (its index in pool(), which is also its index in placer(): every
  // pool node is a placer node) may get new shards: not DOWN and not excluded.
  bool Usable(int node) const;
  // Whether node `node` may be asked for shards: not DOWN (an excluded node still serves
  // reads while its shards move away).
  bool Readable(int node) const;

  // Replaces the set of nodes excluded from placement (draining and removed nodes): Usable()
  // is false for them from now on, so new stripes and write retries skip them. Ids that are
  // not in the pool are ignored. Thread-safe, lock-free for readers of Usable().
  void SetExcluded(const std::vector<std::string>& node_ids);
  bool Excluded(int node) const;

  // Chunks of writers not yet destroyed (see InFlightChunks).
  InFlightChunks& in_flight() { return in_flight_; }
  // The journal new writers record their objects in (none by default: one gateway's own
  // InFlightChunks is enough for its own sweep). Set before the first writer; it must outlive
  // every writer.
  void SetWriteJournal(WriteJournal* journal) { journal_ = journal; }
  WriteJournal* write_journal() const { return journal_; }
  // Where writers report stripes they had to double up at one provider (writers log its
  // lines as warnings).
  SpreadLog& spread_log() { return spread_log_; }

 private:
  const KeyRing& ring_;
  NodePool& pool_;
  PipelineOptions options_;
  mutable std::mutex placer_mu_;
  std::shared_ptr<const Placer> placer_;  // under placer_mu_
  // One flag per pool slot (NodePool::kMaxNodes), set by SetExcluded.
  std::unique_ptr<std::atomic<bool>[]> excluded_;
  ReadBudget read_budget_;
  ThreadPool workers_;
  Timer timer_;
  InFlightChunks in_flight_;
  std::atomic<WriteJournal*> journal_{nullptr};
  SpreadLog spread_log_;
};

// Chunk id as the node sees it: the 32 raw bytes.
std::string ChunkIdString(const ChunkId& id);

}  // namespace mosaic::client
