#include "client/pipeline/object_reader.h"

#include <algorithm>
#include <cstring>

#include "client/pipeline/stripe_fetch.h"
#include "common/buffer_pool.h"
#include "common/status.h"

namespace mosaic::client {

struct ObjectReader::Fetch {
  StripeSlice slice;
  uint64_t cost = 0;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  absl::Status status;
  AlignedBuffer plaintext;
};

ObjectReader::ObjectReader(Pipeline& pipeline, ObjectManifest manifest,
                           std::unique_ptr<ShardCodec> codec, StripeLayout layout,
                           StripeLayout::Range range)
    : pipeline_(pipeline),
      manifest_(std::move(manifest)),
      codec_(std::move(codec)),
      layout_(layout),
      range_(range),
      remaining_(range.length),
      next_stripe_(range.first_stripe) {
  pipeline_.read_budget().AddReader();
}

ObjectReader::~ObjectReader() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return running_ == 0; });
  for (const auto& f : window_) BufferPool::Global().Give(std::move(f->plaintext));
  pipeline_.read_budget().Release(in_flight_bytes_);
  pipeline_.read_budget().RemoveReader();
}

std::vector<BadShard> ObjectReader::faults() const {
  std::lock_guard lock(mu_);
  return faults_;
}

// Charges stripe fetches while this reader's budget and the shared ReadBudget allow; when
// `must_progress` (the consumer is reading) and nothing is in flight, at least one. Holds mu_;
// the caller starts them (StartFetches) after unlocking, as a fetch may end at once.
std::vector<std::shared_ptr<ObjectReader::Fetch>> ObjectReader::Prefetch(bool must_progress) {
  std::vector<std::shared_ptr<Fetch>> started;
  uint64_t end = range_.first_stripe + range_.stripe_count;
  while (next_stripe_ < end) {
    auto f = std::make_shared<Fetch>();
    f->slice = layout_.Slice(range_, next_stripe_);
    size_t shard = codec_->SealedShardBytes(f->slice.stripe.plaintext_bytes);
    f->cost = f->slice.stripe.plaintext_bytes + 2 * size_t(codec_->n()) * shard;
    if (!window_.empty() && in_flight_bytes_ + f->cost > pipeline_.options().budget_bytes) break;
    if (!pipeline_.read_budget().TryCharge(in_flight_bytes_, f->cost, must_progress)) break;
    in_flight_bytes_ += f->cost;
    ++running_;
    ++next_stripe_;
    window_.push_back(f);
    started.push_back(f);
  }
  return started;
}

void ObjectReader::Start() {
  std::vector<std::shared_ptr<Fetch>> started;
  {
    std::lock_guard lock(mu_);
    if (remaining_ > 0) started = Prefetch(/*must_progress=*/false);
  }
  StartFetches(std::move(started));
}

absl::StatusOr<size_t> ObjectReader::Read(ByteSpan out) {
  ASSIGN_OR_RETURN(ConstByteSpan view, Next(out.size()));
  if (!view.empty()) std::memcpy(out.data(), view.data(), view.size());
  ReleaseConsumed();  // copied: the stripe can go at once
  return view.size();
}

absl::StatusOr<ConstByteSpan> ObjectReader::Next(size_t max) {
  ReleaseConsumed();
  if (remaining_ == 0 || max == 0) return ConstByteSpan{};
  std::shared_ptr<Fetch> f;
  std::vector<std::shared_ptr<Fetch>> started;
  {
    std::lock_guard lock(mu_);
    started = Prefetch(/*must_progress=*/true);
    f = window_.front();
  }
  StartFetches(std::move(started));
  {
    std::unique_lock lock(f->mu);
    f->cv.wait(lock, [&] { return f->done; });
    if (!f->status.ok()) return f->status;
  }
  size_t n = std::min<uint64_t>(max, f->slice.length - consumed_);
  ConstByteSpan view{f->plaintext.data() + f->slice.offset + consumed_, n};
  consumed_ += n;
  remaining_ -= n;
  front_consumed_ = consumed_ == f->slice.length;
  return view;
}

void ObjectReader::ReleaseConsumed() {
  if (!front_consumed_) return;
  front_consumed_ = false;
  std::vector<std::shared_ptr<Fetch>> started;
  {
    std::lock_guard lock(mu_);
    std::shared_ptr<Fetch> f = std::move(window_.front());
    window_.pop_front();
    BufferPool::Global().Give(std::move(f->plaintext));
    in_flight_bytes_ -= f->cost;
    pipeline_.read_budget().Release(f->cost);
    consumed_ = 0;
    started = Prefetch(/*must_progress=*/true);
  }
  StartFetches(std::move(started));
}

absl::StatusOr<std::string> ObjectReader::ReadAll() {
  std::string out(remaining_, '\0');
  size_t at = 0;
  while (at < out.size()) {
    auto n = Read({reinterpret_cast<std::byte*>(out.data()) + at, out.size() - at});
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    at += *n;
  }
  out.resize(at);
  return out;
}

// Records a fetched stripe (on whichever thread finished it) and wakes the consumer. The
// last thing it does is drop running_ under mu_: the destructor may run once it has.
void ObjectReader::Fetched(std::shared_ptr<Fetch> f, StripeFetchResult r) {
  {
    // The faults first: a consumer that sees this stripe done may finish reading and ask
    // faults() at once.
    std::lock_guard lock(mu_);
    faults_.insert(faults_.end(), r.faults.begin(), r.faults.end());
  }
  {
    std::lock_guard lock(f->mu);
    f->status = std::move(r.status);
    f->plaintext = std::move(r.plaintext);
    f->done = true;
  }
  f->cv.notify_all();
  std::lock_guard lock(mu_);
  --running_;
  cv_.notify_all();
}

void ObjectReader::StartFetches(std::vector<std::shared_ptr<Fetch>> fetches) {
  for (auto& f : fetches) {
    const StripeInfo& stripe = f->slice.stripe;
    StartStripeFetch(pipeline_, *codec_, stripe, manifest_.stripes[stripe.index].nodes,
                     [this, f](StripeFetchResult r) { Fetched(f, std::move(r)); });
  }
}

}  // namespace mosaic::client
