#include "client/pipeline/stripe_fetch.h"

#include <algorithm>
#include <mutex>
#include <optional>

#include "common/buffer_pool.h"

namespace mosaic::client {
namespace {

using Clock = std::chrono::steady_clock;

enum class ShardState { kIdle, kPending, kOk, kBad };

struct Shard {
  ShardState state = ShardState::kIdle;
  bool hedged = false;    // slow: another shard was asked in its place
  bool reported = false;  // its fault is in the result already
  AlignedBuffer data;     // from BufferPool::Global()
  absl::Status error;     // why a bad shard is bad, as the node said (to be reported once)
  Clock::time_point start;
  double latency_ms = 0;
};

// Decides which idle shards to ask next: enough that the shards in or on their way (not
// counting hedged ones) reach k. Marks slow shards hedged. Returns the shards to ask and, in
// `wake`, when to look again for slow ones.
std::vector<int> Plan(std::vector<Shard>& shards, int k, const PipelineOptions& o,
                      Clock::time_point& wake) {
  int ok = 0, pending = 0;
  std::vector<double> latencies;
  for (const Shard& s : shards) {
    if (s.state == ShardState::kOk) {
      ++ok;
      latencies.push_back(s.latency_ms);
    }
  }
  auto now = Clock::now();
  Clock::duration slow_after = Clock::duration::max();
  if (!latencies.empty()) {
    std::nth_element(latencies.begin(), latencies.begin() + latencies.size() / 2, latencies.end());
    double median = latencies[latencies.size() / 2];
    slow_after = std::chrono::duration_cast<Clock::duration>(
                     std::chrono::duration<double, std::milli>(o.hedge_margin * median)) +
                 o.hedge_delay;
  }
  for (Shard& s : shards) {
    if (s.state != ShardState::kPending || s.hedged) continue;
    if (slow_after != Clock::duration::max() && now - s.start > slow_after) {
      s.hedged = true;
    } else {
      ++pending;
      if (slow_after != Clock::duration::max()) wake = std::min(wake, s.start + slow_after);
    }
  }
  std::vector<int> ask;
  int need = k - ok - pending;
  for (int i = 0; i < static_cast<int>(shards.size()) && need > 0; ++i) {
    if (shards[i].state == ShardState::kIdle) {
      ask.push_back(i);
      --need;
    }
  }
  return ask;
}

// The state of one fetch, shared with its gRPC callbacks, timer and decode task. Step runs
// on one thread at a time (Kick); it and Decode are the only code that uses the codec or the
// pipeline, and neither runs once finished_ is set.
class Fetch : public std::enable_shared_from_this<Fetch> {
 public:
  Fetch(Pipeline& pipeline, const ShardCodec& codec, const StripeInfo& stripe,
        std::vector<std::string> nodes, absl::AnyInvocable<void(StripeFetchResult)> done)
      : pipeline_(pipeline),
        codec_(codec),
        stripe_(stripe),
        nodes_(std::move(nodes)),
        done_(std::move(done)),
        shards_(codec.n()),
        deadline_(Clock::now() + pipeline.options().stripe_timeout) {}

  // Runs Step until no event arrived during it; returns at once if another thread steps.
  void Kick() {
    {
      std::lock_guard lock(mu_);
      if (stepping_) {
        again_ = true;
        return;
      }
      stepping_ = true;
    }
    while (true) {
      Step();
      std::lock_guard lock(mu_);
      if (!again_) {
        stepping_ = false;
        return;
      }
      again_ = false;
    }
  }

 private:
  void Step();
  void Ask(const std::vector<std::pair<int, int>>& asks);
  void OnShard(int s, absl::StatusOr<AlignedBuffer> r);
  void Decode();
  void Arm(Clock::time_point wake);
  // Under mu_: ends the fetch; the caller runs the returned callback after unlocking.
  absl::AnyInvocable<void()> FinishLocked(absl::Status status);
  void Fault(int s, absl::Status st) {
    result_.faults.push_back({stripe_.index, s, nodes_[s], std::move(st)});
  }
  std::string Tried() const;

  Pipeline& pipeline_;
  const ShardCodec& codec_;
  const StripeInfo stripe_;
  const std::vector<std::string> nodes_;
  absl::AnyInvocable<void(StripeFetchResult)> done_;

  std::mutex mu_;
  std::vector<Shard> shards_;
  Clock::time_point deadline_;
  bool stepping_ = false, again_ = false, decoding_ = false, finished_ = false;
  std::optional<Timer::Handle> armed_;  // the timer's pending wake-up
  StripeFetchResult result_;
};

std::string Fetch::Tried() const {
  std::string tried;
  for (size_t s = 0; s < shards_.size(); ++s) {
    if (shards_[s].state == ShardState::kIdle) continue;
    tried += (tried.empty() ? "" : ", ") + nodes_[s];
  }
  return tried;
}

void Fetch::Step() {
  std::vector<std::pair<int, int>> asks;  // (shard, node index)
  absl::AnyInvocable<void()> finish;
  bool decode = false;
  {
    std::lock_guard lock(mu_);
    if (finished_ || decoding_) return;
    const int k = codec_.k();
    int ok = 0, live = 0;
    for (int s = 0; s < static_cast<int>(shards_.size()); ++s) {
      Shard& sh = shards_[s];
      if (sh.state == ShardState::kBad && !sh.reported && !sh.error.ok()) {
        // The node's own code is kept: DATA_LOSS (it found the chunk corrupt) calls for a
        // different repair than UNAVAILABLE (unreachable).
        sh.reported = true;
        Fault(s, sh.error);
      }
      if (sh.state == ShardState::kOk) ++ok;
      if (sh.state != ShardState::kBad) ++live;
    }
    Clock::time_point wake = deadline_;
    std::vector<int> to_ask =
        ok >= k ? std::vector<int>{} : Plan(shards_, k, pipeline_.options(), wake);
    for (int s : to_ask) {
      int node = pipeline_.pool().IndexOf(nodes_[s]);
      // Readable, not Usable: a draining node still serves its shards.
      if (node < 0 || !pipeline_.Readable(node)) {
        shards_[s].state = ShardState::kBad;
        again_ = true;  // plan again without it
        continue;
      }
      shards_[s].state = ShardState::kPending;
      shards_[s].start = Clock::now();
      asks.emplace_back(s, node);
    }
    if (ok >= k) {
      decoding_ = decode = true;
    } else if (to_ask.empty() && live < k) {
      finish = FinishLocked(absl::UnavailableError(
          "stripe " + std::to_string(stripe_.index) + ": only " + std::to_string(ok) + " of the " +
          std::to_string(k) + " shards needed could be read; nodes tried: " + Tried()));
    } else if (to_ask.empty() && Clock::now() >= deadline_) {
      finish = FinishLocked(absl::UnavailableError("stripe " + std::to_string(stripe_.index) +
                                                   ": timed out; nodes tried: " + Tried()));
    } else {
      Arm(wake);  // to hedge a slow shard, or to fail at the deadline
    }
  }
  if (finish) return finish();
  Ask(asks);
  if (!decode) return;
  if (stripe_.plaintext_bytes <= kInlineDecodeBytes) return Decode();
  pipeline_.workers().Submit([self = shared_from_this()] { self->Decode(); });
}

void Fetch::Ask(const std::vector<std::pair<int, int>>& asks) {
  for (auto [s, node] : asks) {
    pipeline_.pool().node(node).GetBuffer(
        ChunkIdString(codec_.ChunkIdOf(stripe_.index, s)), 0, 0,
        [self = shared_from_this(), s](absl::StatusOr<AlignedBuffer> r) {
          self->OnShard(s, std::move(r));
        },
        pipeline_.options().stripe_timeout);
  }
}

void Fetch::OnShard(int s, absl::StatusOr<AlignedBuffer> r) {
  {
    std::lock_guard lock(mu_);
    if (finished_) {
      if (r.ok()) BufferPool::Global().Give(std::move(*r));
      return;
    }
    Shard& sh = shards_[s];
    sh.latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - sh.start).count();
    if (r.ok()) {
      sh.data = std::move(*r);
      sh.state = ShardState::kOk;
    } else {
      sh.state = ShardState::kBad;
      sh.error = r.status();
    }
  }
  Kick();
}

// Arms the timer for `wake` unless an earlier wake-up is armed. Under mu_.
void Fetch::Arm(Clock::time_point wake) {
  if (armed_ && armed_->first <= wake) return;
  if (armed_) pipeline_.timer().Cancel(*armed_);
  armed_ = pipeline_.timer().Schedule(wake, [weak = weak_from_this()] {
    if (auto self = weak.lock()) {
      {
        std::lock_guard lock(self->mu_);
        self->armed_.reset();
      }
      self->Kick();
    }
  });
}

// Decodes from the verified shards (on a worker, or inline for a small stripe). Shards that
// fail their tags are marked bad and the fetch steps again to ask others.
void Fetch::Decode() {
  std::vector<ConstByteSpan> spans(shards_.size());
  {
    std::lock_guard lock(mu_);  // shards in kOk are not written again: spans stay valid
    for (size_t s = 0; s < shards_.size(); ++s) {
      if (shards_[s].state == ShardState::kOk) spans[s] = shards_[s].data.span();
    }
    if (result_.plaintext.data() == nullptr) {
      result_.plaintext = BufferPool::Global().Take(stripe_.plaintext_bytes);
    }
  }
  ShardCodec::Workspace workspace = codec_.NewWorkspace();  // from the buffer pool
  StripeReadResult r = codec_.DecodeStripe(stripe_, spans, result_.plaintext.span(), workspace);
  absl::AnyInvocable<void()> finish;
  {
    std::lock_guard lock(mu_);
    decoding_ = false;
    for (const auto& bad : r.faults) {
      Shard& sh = shards_[bad.shard_index];
      sh.state = ShardState::kBad;
      sh.reported = true;
      BufferPool::Global().Give(std::move(sh.data));
      Fault(bad.shard_index, bad.status);
    }
    if (r.status.ok() || r.status.code() != absl::StatusCode::kUnavailable || r.faults.empty()) {
      finish = FinishLocked(r.status);
    }
  }
  if (finish) return finish();
  Kick();
}

absl::AnyInvocable<void()> Fetch::FinishLocked(absl::Status status) {
  finished_ = true;
  if (armed_) pipeline_.timer().Cancel(*armed_);
  armed_.reset();
  for (Shard& sh : shards_) BufferPool::Global().Give(std::move(sh.data));
  result_.status = std::move(status);
  if (!result_.status.ok()) BufferPool::Global().Give(std::move(result_.plaintext));
  return
      [done = std::move(done_), result = std::move(result_)]() mutable { done(std::move(result)); };
}

}  // namespace

void StartStripeFetch(Pipeline& pipeline, const ShardCodec& codec, const StripeInfo& stripe,
                      std::vector<std::string> nodes,
                      absl::AnyInvocable<void(StripeFetchResult)> done) {
  if (static_cast<int>(nodes.size()) != codec.n()) {
    StripeFetchResult r;
    r.status = absl::DataLossError("manifest: stripe " + std::to_string(stripe.index) +
                                   " does not name " + std::to_string(codec.n()) + " nodes");
    return done(std::move(r));
  }
  auto fetch = std::make_shared<Fetch>(pipeline, codec, stripe, std::move(nodes), std::move(done));
  fetch->Kick();
}

}  // namespace mosaic::client
