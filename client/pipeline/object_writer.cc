#include "client/pipeline/object_writer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "common/buffer_pool.h"
#include "common/latch.h"
#include "common/status.h"

namespace mosaic::client {
namespace {

// The smallest first stripe buffer: a small object takes a small buffer.
constexpr size_t kFirstBufferBytes = size_t{64} << 10;

}  // namespace

struct ObjectWriter::Stripe {
  StripeInfo info;
  AlignedBuffer plaintext;
  // n slots of shard_bytes, back to the pool once the stripe and gRPC are done with it (the
  // shards are sent from it without a copy).
  std::shared_ptr<AlignedBuffer> sealed;
  size_t shard_bytes = 0;
  uint64_t cost = 0;  // bytes charged to the budget
  std::string key;    // placement key
  std::mutex mu;
  std::vector<int> placement;           // pool index per shard
  std::vector<std::vector<int>> tried;  // failed nodes per shard
  int pending = 0;
  absl::Status status;

  ConstByteSpan Shard(int slot) const {
    return {sealed->data() + size_t(slot) * shard_bytes, shard_bytes};
  }
};

ObjectWriter::ObjectWriter(Pipeline& pipeline, std::unique_ptr<ShardCodec> codec,
                           ObjectManifest manifest)
    : pipeline_(pipeline),
      codec_(std::move(codec)),
      manifest_(std::move(manifest)),
      journal_(pipeline.write_journal()) {}

// Only here do the writer's chunks leave the in-flight registry: the caller commits the
// manifest (or deletes its data) before it drops the writer, so a chunk is always either
// in the registry or named by the metadata (what the gateway's orphan sweep relies on).
ObjectWriter::~ObjectWriter() {
  if (!finished_) Abort();
  BufferPool::Global().Give(std::move(current_));
  std::lock_guard lock(mu_);
  pipeline_.in_flight().Remove(registered_);
  if (reserved_stripes_ > 0) journal_->Release(manifest_.object_id);
}

absl::Status ObjectWriter::Write(ConstByteSpan data) {
  while (!data.empty()) {
    {
      std::lock_guard lock(mu_);
      if (!error_.ok()) return error_;
    }
    if (current_fill_ == manifest_.stripe_bytes) Dispatch(/*last=*/false);
    if (current_fill_ == current_.size()) Grow(current_fill_ + data.size());
    size_t n = std::min<size_t>(data.size(), current_.size() - current_fill_);
    std::memcpy(current_.data() + current_fill_, data.data(), n);
    current_fill_ += n;
    bytes_ += n;
    data = data.subspan(n);
  }
  std::lock_guard lock(mu_);
  return error_;
}

// Makes room for more bytes in the stripe being filled. The first stripe's buffer starts at
// the size expected (at least kFirstBufferBytes) and doubles, with a copy, up to the stripe
// size; later stripes take a whole stripe at once. Nothing is zeroed: only filled bytes are
// encoded.
void ObjectWriter::Grow(size_t wanted) {
  const uint64_t stripe = manifest_.stripe_bytes;
  uint64_t size =
      next_stripe_ > 0
          ? stripe
          : std::max<uint64_t>({wanted, expected_bytes_, 2 * current_.size(), kFirstBufferBytes});
  AlignedBuffer next = BufferPool::Global().Take(std::min(size, stripe));
  if (current_fill_ > 0) std::memcpy(next.data(), current_.data(), current_fill_);
  BufferPool::Global().Give(std::move(current_));
  current_ = std::move(next);
}

// Hands the current stripe to the workers once the budget has room for it.
void ObjectWriter::Dispatch(bool last) {
  auto s = std::make_shared<Stripe>();
  s->info = {next_stripe_++, current_fill_, last};
  s->shard_bytes = codec_->SealedShardBytes(current_fill_);
  s->cost = current_fill_ + 2 * size_t(codec_->n()) * s->shard_bytes;
  s->plaintext = std::move(current_);  // leaves current_ empty
  s->key = HexEncode(std::as_bytes(std::span(manifest_.object_id))) + "/" +
           std::to_string(s->info.index);
  current_fill_ = 0;
  if (absl::Status st = Reserve(s->info.index); !st.ok()) return Fail(std::move(st));
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] {
      return in_flight_stripes_ == 0 ||
             in_flight_bytes_ + s->cost <= pipeline_.options().budget_bytes || !error_.ok();
    });
    if (!error_.ok()) return;
    in_flight_bytes_ += s->cost;
    ++in_flight_stripes_;
    if (manifest_.stripes.size() <= s->info.index) manifest_.stripes.resize(s->info.index + 1);
  }
  pipeline_.workers().Submit([this, s] { Encode(s); });
}

// "Mark uploading first": a stripe is in the journal before any of its shards is sent, so a
// chunk of this object on a node is always recorded there, or named by the committed
// manifest once the journal forgets it.
absl::Status ObjectWriter::Reserve(uint64_t stripe) {
  if (journal_ == nullptr || stripe < reserved_stripes_) return absl::OkStatus();
  const uint64_t stripe_bytes = manifest_.stripe_bytes;
  uint64_t want = std::max(
      {stripe + 1, 2 * reserved_stripes_, (expected_bytes_ + stripe_bytes - 1) / stripe_bytes});
  RETURN_IF_ERROR(journal_->Reserve(manifest_.object_id, codec_->n(), want));
  reserved_stripes_ = want;
  return absl::OkStatus();
}

void ObjectWriter::Encode(std::shared_ptr<Stripe> s) {
  int n = codec_->n();
  s->sealed = BufferPool::Global().TakeShared(size_t(n) * s->shard_bytes);
  std::vector<ByteSpan> slots;
  for (int i = 0; i < n; ++i) {
    slots.push_back({s->sealed->data() + size_t(i) * s->shard_bytes, s->shard_bytes});
  }
  absl::Status st =
      codec_->EncodeStripe(s->info, {s->plaintext.data(), s->info.plaintext_bytes}, slots);
  BufferPool::Global().Give(
      std::move(s->plaintext));  // the sealed shards are all that is needed now
  if (!st.ok()) return StripeDone(*s, st);
  std::vector<int> placement =
      pipeline_.placer()->Place(s->key, n, [this](int i) { return pipeline_.Usable(i); });
  if (static_cast<int>(placement.size()) < n) {
    return StripeDone(*s, absl::UnavailableError("stripe " + std::to_string(s->info.index) +
                                                 ": no usable storage node"));
  }
  {
    std::lock_guard lock(s->mu);
    s->placement = std::move(placement);
    s->tried.assign(n, {});
    s->pending = n;
  }
  for (int slot = 0; slot < n; ++slot) SendShard(s, slot);
}

void ObjectWriter::SendShard(std::shared_ptr<Stripe> s, int slot) {
  int node;
  bool first_attempt;
  {
    std::lock_guard lock(s->mu);
    node = s->placement[slot];
    first_attempt = s->tried[slot].empty();
  }
  std::string id = ChunkIdString(codec_->ChunkIdOf(s->info.index, slot));
  if (first_attempt) {  // registered before the chunk can exist on any node
    std::lock_guard lock(mu_);
    pipeline_.in_flight().Add(id);
    registered_.push_back(id);
  }
  pipeline_.pool().node(node).Put(
      id, s->Shard(slot), [this, s, slot](absl::Status st) { ShardDone(s, slot, std::move(st)); },
      s->sealed);
}

// Runs on a gRPC thread: records a durable shard, or moves the shard to the next candidate.
void ObjectWriter::ShardDone(std::shared_ptr<Stripe> s, int slot, absl::Status status) {
  int retry_on = -1;
  bool stripe_done = false;
  {
    std::lock_guard lock(s->mu);
    int node = s->placement[slot];
    if (status.ok()) {
      std::lock_guard wlock(mu_);
      written_.emplace_back(pipeline_.pool().node(node).id(),
                            ChunkIdString(codec_->ChunkIdOf(s->info.index, slot)));
    } else if (status.code() != absl::StatusCode::kInvalidArgument) {
      s->tried[slot].push_back(node);
      retry_on = pipeline_.placer()->NextCandidate(s->key, s->placement, slot, s->tried[slot],
                                                   [this](int i) { return pipeline_.Usable(i); });
      if (retry_on >= 0) s->placement[slot] = retry_on;
    }
    if (!status.ok() && retry_on < 0 && s->status.ok()) {
      s->status = absl::UnavailableError(
          "stripe " + std::to_string(s->info.index) + " shard " + std::to_string(slot) +
          ": no node accepted it (last: " + pipeline_.pool().node(node).id() + ": " +
          std::string(status.message()) + ")");
    }
    if (retry_on < 0) stripe_done = --s->pending == 0;
  }
  if (retry_on >= 0) return SendShard(s, slot);
  if (stripe_done) StripeDone(*s, s->status);
}

void ObjectWriter::StripeDone(Stripe& s, absl::Status status) {
  std::vector<std::string> nodes;
  if (status.ok()) {
    for (int node : s.placement) nodes.push_back(pipeline_.pool().node(node).id());
  }
  s.sealed.reset();  // before the count drops: the writer may go then
  {
    std::lock_guard lock(mu_);
    if (status.ok()) {
      manifest_.stripes[s.info.index].nodes = std::move(nodes);
    } else if (error_.ok()) {
      error_ = status;
    }
    in_flight_bytes_ -= s.cost;
    --in_flight_stripes_;
    // Notified under the lock: once the count reaches zero the writer may be destroyed.
    cv_.notify_all();
  }
}

void ObjectWriter::WaitIdle() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return in_flight_stripes_ == 0; });
}

void ObjectWriter::DeleteWritten() {
  std::vector<std::pair<std::string, std::string>> written;
  {
    std::lock_guard lock(mu_);
    written.swap(written_);
  }
  auto latch = std::make_shared<Latch>(static_cast<int>(written.size()));
  for (const auto& [node_id, chunk] : written) {
    pipeline_.pool()
        .node(pipeline_.pool().IndexOf(node_id))
        .Delete(chunk, [latch](absl::StatusOr<bool>) { latch->Done(); });
  }
  latch->Wait();
}

absl::StatusOr<ObjectManifest> ObjectWriter::Finish() {
  if (finished_) return absl::FailedPreconditionError("object already finished");
  {
    std::lock_guard lock(mu_);
    if (error_.ok()) {
      manifest_.size = bytes_;
    }
  }
  Dispatch(/*last=*/true);
  WaitIdle();
  finished_ = true;
  absl::Status error;
  {
    std::lock_guard lock(mu_);
    error = error_;
  }
  if (!error.ok()) {
    DeleteWritten();
    return error;
  }
  ReportSpread();
  return manifest_;
}

void ObjectWriter::ReportSpread() {
  std::shared_ptr<const Placer> placer = pipeline_.placer();
  auto provider_of = [&](const std::string& node) {
    int i = pipeline_.pool().IndexOf(node);
    return i >= 0 && i < static_cast<int>(placer->nodes().size()) ? placer->nodes()[i].provider
                                                                  : std::string("?");
  };
  std::vector<std::vector<ShardHolder>> stripes;
  for (const StripePlacement& stripe : manifest_.stripes) {
    auto& places = stripes.emplace_back();
    for (const std::string& node : stripe.nodes) places.emplace_back(node, provider_of(node));
  }
  auto usable_providers = [&] {
    std::set<std::string> providers;
    for (int i = 0; i < static_cast<int>(placer->nodes().size()); ++i) {
      if (pipeline_.Usable(i)) providers.insert(placer->nodes()[i].provider);
    }
    return static_cast<int>(providers.size());
  };
  std::string object = HexEncode(std::as_bytes(std::span(manifest_.object_id)));
  if (auto line = pipeline_.spread_log().Record(object, stripes, usable_providers)) {
    spdlog::warn("{}", *line);
  }
}

void ObjectWriter::Abort() {
  Fail(absl::CancelledError("write aborted"));
  WaitIdle();
  finished_ = true;
  DeleteWritten();
}

void ObjectWriter::Fail(absl::Status status) {
  {
    std::lock_guard lock(mu_);
    if (error_.ok()) error_ = std::move(status);
  }
  cv_.notify_all();
}

}  // namespace mosaic::client
