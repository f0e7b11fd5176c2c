#include "client/pipeline/object_reader.h"

#include <algorithm>
#include <cstring>

#include "common/buffer_pool.h"

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

namespace {

using Clock = std::chrono::steady_clock;

enum class ShardState { kIdle, kPending, kOk, kBad };

struct Shard {
  ShardState state = ShardState::kIdle;
  bool hedged = false;  // slow: another shard was asked in its place
  std::string data;
  absl::Status error;  // why a bad shard is bad, as the node said (to be reported once)
  Clock::time_point start;
  double latency_ms = 0;
};

// The shards of one stripe; shared with the gRPC callbacks, which may outlive the fetch.
struct Gather {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Shard> shards;
};

// Decides, under g.mu, which idle shards to ask next: enough that the shards in or on their
// way (not counting hedged ones) reach k. Marks slow shards hedged. Returns the shards to ask
// and, in `wake`, when to look again for slow ones.
std::vector<int> Plan(Gather& g, int k, const PipelineOptions& o, Clock::time_point& wake) {
  int ok = 0, pending = 0;
  std::vector<double> latencies;
  for (const Shard& s : g.shards) {
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
  for (Shard& s : g.shards) {
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
  for (int i = 0; i < static_cast<int>(g.shards.size()) && need > 0; ++i) {
    if (g.shards[i].state == ShardState::kIdle) {
      ask.push_back(i);
      --need;
    }
  }
  return ask;
}

}  // namespace

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

// Starts stripe fetches while this reader's budget and the shared ReadBudget allow; when
// `must_progress` (the consumer is reading) and nothing is in flight, at least one. Holds mu_.
void ObjectReader::Prefetch(bool must_progress) {
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
    pipeline_.workers().Submit([this, f] { RunFetch(f); });
  }
}

void ObjectReader::Start() {
  std::lock_guard lock(mu_);
  if (remaining_ > 0) Prefetch(/*must_progress=*/false);
}

absl::StatusOr<size_t> ObjectReader::Read(ByteSpan out) {
  if (remaining_ == 0 || out.empty()) return 0;
  std::shared_ptr<Fetch> f;
  {
    std::lock_guard lock(mu_);
    Prefetch(/*must_progress=*/true);
    f = window_.front();
  }
  {
    std::unique_lock lock(f->mu);
    f->cv.wait(lock, [&] { return f->done; });
    if (!f->status.ok()) return f->status;
  }
  size_t n = std::min<uint64_t>(out.size(), f->slice.length - consumed_);
  std::memcpy(out.data(), f->plaintext.data() + f->slice.offset + consumed_, n);
  consumed_ += n;
  remaining_ -= n;
  if (consumed_ == f->slice.length) {
    std::lock_guard lock(mu_);
    window_.pop_front();
    BufferPool::Global().Give(std::move(f->plaintext));
    in_flight_bytes_ -= f->cost;
    pipeline_.read_budget().Release(f->cost);
    consumed_ = 0;
    Prefetch(/*must_progress=*/true);
  }
  return n;
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

// Fetches and decodes one stripe (see the header). Runs on a worker; blocks on replies.
void ObjectReader::RunFetch(std::shared_ptr<Fetch> f) {
  const StripeInfo& stripe = f->slice.stripe;
  const int n = codec_->n(), k = codec_->k();
  const PipelineOptions& o = pipeline_.options();
  const std::vector<std::string>& nodes = manifest_.stripes[stripe.index].nodes;
  auto g = std::make_shared<Gather>();
  g->shards.resize(n);
  std::vector<BadShard> faults;
  std::string tried;
  absl::Status status;
  AlignedBuffer plaintext = BufferPool::Global().Take(stripe.plaintext_bytes);
  auto fault = [&](int s, absl::Status st) { faults.push_back({stripe.index, s, nodes[s], st}); };
  auto ask = [&](int s) {  // called without g->mu
    int node = pipeline_.pool().IndexOf(nodes[s]);
    tried += (tried.empty() ? "" : ", ") + nodes[s];
    // Readable, not Usable: a draining node still serves its shards.
    if (node < 0 || !pipeline_.Readable(node)) {
      std::lock_guard lock(g->mu);
      g->shards[s].state = ShardState::kBad;
      return;
    }
    {
      std::lock_guard lock(g->mu);
      g->shards[s].state = ShardState::kPending;
      g->shards[s].start = Clock::now();
    }
    std::string id = ChunkIdString(codec_->ChunkIdOf(stripe.index, s));
    pipeline_.pool().node(node).Get(
        id, 0, 0,
        [g, s](absl::StatusOr<std::string> r) {
          std::lock_guard lock(g->mu);
          Shard& sh = g->shards[s];
          sh.latency_ms =
              std::chrono::duration<double, std::milli>(Clock::now() - sh.start).count();
          if (r.ok()) {
            sh.data = std::move(*r);
            sh.state = ShardState::kOk;
          } else {
            sh.state = ShardState::kBad;
            sh.error = r.status();
          }
          g->cv.notify_all();
        },
        o.stripe_timeout);
  };
  if (static_cast<int>(nodes.size()) != n) {
    status = absl::DataLossError("manifest: stripe " + std::to_string(stripe.index) +
                                 " does not name " + std::to_string(n) + " nodes");
  }
  auto deadline = Clock::now() + o.stripe_timeout;
  std::vector<bool> reported(n, false);
  ShardCodec::Workspace workspace = codec_->NewWorkspace();  // from the buffer pool
  while (status.ok()) {
    Clock::time_point wake = deadline;
    std::vector<int> to_ask;
    int ok = 0, live = 0;
    std::vector<ConstByteSpan> spans(n);
    {
      std::lock_guard lock(g->mu);
      for (int s = 0; s < n; ++s) {
        Shard& sh = g->shards[s];
        if (sh.state == ShardState::kBad && !reported[s] && !sh.error.ok()) {
          // The node's own code is kept: DATA_LOSS (it found the chunk corrupt) calls for a
          // different repair than UNAVAILABLE (unreachable).
          reported[s] = true;
          fault(s, sh.error);
        }
        if (sh.state == ShardState::kOk) {
          ++ok;
          spans[s] = AsBytes(sh.data);
        }
        if (sh.state != ShardState::kBad) ++live;
      }
      if (ok < k) to_ask = Plan(*g, k, o, wake);
    }
    if (ok >= k) {
      StripeReadResult r = codec_->DecodeStripe(stripe, spans, plaintext.span(), workspace);
      std::lock_guard lock(g->mu);
      for (const auto& bad : r.faults) {
        g->shards[bad.shard_index].state = ShardState::kBad;
        g->shards[bad.shard_index].data.clear();
        fault(bad.shard_index, bad.status);
        reported[bad.shard_index] = true;
      }
      if (r.status.ok()) break;
      if (r.status.code() != absl::StatusCode::kUnavailable || r.faults.empty()) {
        status = r.status;
      }
      continue;
    }
    if (to_ask.empty() && live < k) {
      status = absl::UnavailableError("stripe " + std::to_string(stripe.index) + ": only " +
                                      std::to_string(ok) + " of the " + std::to_string(k) +
                                      " shards needed could be read; nodes tried: " + tried);
      break;
    }
    for (int s : to_ask) ask(s);
    if (!to_ask.empty()) continue;
    std::unique_lock lock(g->mu);
    if (g->cv.wait_until(lock, wake) == std::cv_status::timeout && Clock::now() >= deadline) {
      status = absl::UnavailableError("stripe " + std::to_string(stripe.index) +
                                      ": timed out; nodes tried: " + tried);
    }
  }
  {
    std::lock_guard lock(mu_);
    faults_.insert(faults_.end(), faults.begin(), faults.end());
  }
  {
    std::lock_guard lock(f->mu);
    f->status = status;
    f->plaintext = std::move(plaintext);
    f->done = true;
  }
  f->cv.notify_all();
  std::lock_guard lock(mu_);
  --running_;
  cv_.notify_all();
}

}  // namespace mosaic::client
