#include "server/gateway/jobs/scrubber.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <tuple>

#include "client/crypto/shard_sealer.h"
#include "client/pipeline/stripe_layout.h"
#include "common/aligned_buffer.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "common/latch.h"
#include "common/status.h"
#include "server/gateway/meta/manifest_codec.h"
#include "server/gateway/meta/tables/scrub_findings.h"

namespace mosaic::gateway {
namespace {

constexpr size_t kPiecePage = 256;

client::ObjectId ObjectIdOf(const v1::Manifest& m) {
  client::ObjectId id{};
  if (m.object_id().size() == id.size()) std::memcpy(id.data(), m.object_id().data(), id.size());
  return id;
}

// The n shards of one stripe read from their nodes, in parallel; blocks until all answered.
std::vector<absl::StatusOr<std::string>> FetchStripe(client::Pipeline& pipeline,
                                                     const client::ObjectId& object,
                                                     uint64_t stripe,
                                                     const v1::StripePlacement& nodes) {
  // Each callback writes its own slot before Done(); Wait() returns after the last Done().
  struct Fetch {
    explicit Fetch(int n) : done(n), got(n, absl::UnknownError("not asked")) {}
    Latch done;
    std::vector<absl::StatusOr<std::string>> got;
  };
  int n = nodes.nodes_size();
  auto fetch = std::make_shared<Fetch>(n);
  for (int i = 0; i < n; ++i) {
    auto done = [fetch, i](absl::StatusOr<std::string> r) {
      fetch->got[i] = std::move(r);
      fetch->done.Done();
    };
    int index = pipeline.pool().IndexOf(nodes.nodes(i));
    if (index < 0) {
      done(absl::NotFoundError("node " + nodes.nodes(i) + " is not in the node list"));
      continue;
    }
    if (pipeline.pool().node(index).health() == client::NodeHealth::kDown) {
      done(absl::UnavailableError("node " + nodes.nodes(i) + " is down"));  // not waited for
      continue;
    }
    std::string id = client::ChunkIdString(pipeline.ring().ComputeChunkId(object, stripe, i));
    pipeline.pool().node(index).Get(id, 0, 0, std::move(done));
  }
  fetch->done.Wait();
  return std::move(fetch->got);
}

bool Unreachable(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnavailable ||
         s.code() == absl::StatusCode::kDeadlineExceeded ||
         s.code() == absl::StatusCode::kCancelled ||
         s.code() == absl::StatusCode::kResourceExhausted;
}

}  // namespace

std::vector<FoundShard> MatchFindings(const client::KeyRing& ring, const Findings& findings,
                                      const std::string& piece_id, const v1::Manifest& manifest) {
  std::vector<FoundShard> out;
  if (manifest.object_id().size() != sizeof(client::ObjectId)) return out;
  client::ObjectId object = ObjectIdOf(manifest);
  for (int s = 0; s < manifest.stripes_size(); ++s) {
    const v1::StripePlacement& stripe = manifest.stripes(s);
    for (int i = 0; i < stripe.nodes_size(); ++i) {
      auto it = findings.find(stripe.nodes(i));
      if (it == findings.end() || it->second.empty()) continue;
      std::string id = client::ChunkIdString(ring.ComputeChunkId(object, uint64_t(s), i));
      if (it->second.contains(id)) out.push_back({stripe.nodes(i), id, piece_id, uint64_t(s), i});
    }
  }
  return out;
}

std::vector<v1::RepairRecord> RepairsFor(const std::vector<FoundShard>& bad,
                                         const v1::Manifest& manifest, const std::string& reason,
                                         const std::function<bool(const std::string&)>& down,
                                         int64_t now_ms) {
  std::map<uint64_t, std::set<int>> by_stripe;
  for (const FoundShard& f : bad) by_stripe[f.stripe].insert(f.shard);
  std::vector<v1::RepairRecord> out;
  for (const auto& [stripe, shards] : by_stripe) {
    if (stripe >= uint64_t(manifest.stripes_size())) continue;
    const v1::StripePlacement& nodes = manifest.stripes(int(stripe));
    int unhealthy = int(shards.size());
    for (int i = 0; i < nodes.nodes_size(); ++i) {
      if (!shards.contains(i) && down && down(nodes.nodes(i))) ++unhealthy;
    }
    v1::RepairRecord r;
    r.set_piece_id(bad.front().piece_id);
    r.set_stripe(stripe);
    for (int shard : shards) r.add_shards(uint32_t(shard));
    r.set_reason(reason);
    r.set_queued_ms(now_ms);
    r.set_margin(uint32_t(std::max(0, int(manifest.m()) - unhealthy)));
    out.push_back(std::move(r));
  }
  return out;
}

std::string ProgressJson(const DeepScrubProgress& p) {
  std::string error;
  for (char c : p.error) {
    if (c == '"' || c == '\\') error += '\\';
    error += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
  }
  return "{\"running\": " + std::string(p.running ? "true" : "false") +
         ", \"run\": " + std::to_string(p.run) +
         ", \"pieces_done\": " + std::to_string(p.pieces_done) +
         ", \"pieces_total\": " + std::to_string(p.pieces_total) +
         ", \"shards_checked\": " + std::to_string(p.shards_checked) +
         ", \"bytes\": " + std::to_string(p.bytes) +
         ", \"failures\": " + std::to_string(p.failures) +
         ", \"skipped\": " + std::to_string(p.skipped) +
         ", \"started_ms\": " + std::to_string(p.started_ms) +
         ", \"finished_ms\": " + std::to_string(p.finished_ms) + ", \"error\": \"" + error +
         "\"}\n";
}

absl::StatusOr<DeepScrubProgress> ParseProgressJson(std::string_view text) {
  namespace json = boost::json;
  boost::system::error_code ec;
  json::value root = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec || !root.is_object()) {
    return absl::InvalidArgumentError("not a deep scrub progress document" +
                                      (ec ? ": " + ec.message() : std::string()));
  }
  const json::object& o = root.get_object();
  DeepScrubProgress p;
  auto count = [&o](std::string_view key, uint64_t& out) {
    const json::value* v = o.if_contains(key);
    if (v != nullptr && v->is_uint64()) out = v->get_uint64();
    if (v != nullptr && v->is_int64() && v->get_int64() >= 0) out = uint64_t(v->get_int64());
  };
  auto time = [&o](std::string_view key, int64_t& out) {
    const json::value* v = o.if_contains(key);
    if (v != nullptr && v->is_int64()) out = v->get_int64();
    if (v != nullptr && v->is_uint64()) out = int64_t(v->get_uint64());
  };
  if (const json::value* v = o.if_contains("running"); v != nullptr && v->is_bool()) {
    p.running = v->get_bool();
  }
  count("run", p.run);
  count("pieces_done", p.pieces_done);
  count("pieces_total", p.pieces_total);
  count("shards_checked", p.shards_checked);
  count("bytes", p.bytes);
  count("failures", p.failures);
  count("skipped", p.skipped);
  time("started_ms", p.started_ms);
  time("finished_ms", p.finished_ms);
  if (const json::value* v = o.if_contains("error"); v != nullptr && v->is_string()) {
    p.error = std::string(v->get_string());
  }
  return p;
}

Scrubber::Scrubber(MetaStore& meta, client::Pipeline& pipeline, metrics::Registry& registry,
                   Options options)
    : meta_(meta),
      pipeline_(pipeline),
      options_(std::move(options)),
      findings_queued_(registry.GetCounter(
          "mosaic_gateway_scrub_findings_total",
          "Corrupt shards reported by the nodes' scrub and queued for repair.")),
      deep_failures_(registry.GetCounter(
          "mosaic_gateway_deep_scrub_failures_total",
          "Shards the deep scrub found missing or failing their tag (queued for repair).")),
      deep_bytes_(registry.GetCounter("mosaic_gateway_deep_scrub_bytes_total",
                                      "Shard bytes read by the deep scrub.")),
      findings_worker_(
          "scrub findings",
          {.idle_wait = options_.findings_interval, .backoff_initial = options_.findings_interval},
          [this] { return FindingsStep(); }),
      deep_worker_(
          "deep scrub", {.idle_wait = std::chrono::minutes(1)}, [this] { return DeepStep(); },
          [this] {
            DeepScrubProgress p = progress();
            if (!p.running) return std::string("run ") + std::to_string(p.run) + " finished";
            return "run " + std::to_string(p.run) + ": " + std::to_string(p.pieces_done) + "/" +
                   std::to_string(p.pieces_total) + " pieces";
          }) {}

bool Scrubber::NodeDown(const std::string& node_id) const {
  int i = pipeline_.pool().IndexOf(node_id);
  return i < 0 || pipeline_.pool().node(i).health() == client::NodeHealth::kDown;
}

absl::Status Scrubber::QueueAll(const std::vector<v1::RepairRecord>& records) {
  for (const v1::RepairRecord& r : records) RETURN_IF_ERROR(meta_.QueueRepair(r));
  return absl::OkStatus();
}

absl::Status Scrubber::Remember(const std::vector<FoundShard>& found, const std::string& source) {
  int64_t now_ms = UnixNowMs();
  return meta_.backend().Run([&](meta::Transaction& t) -> absl::Status {
    for (const FoundShard& f : found) {
      v1::ScrubFindingRecord r;
      r.set_time_ms(now_ms);
      r.set_source(source);
      r.set_problem(f.problem);
      r.set_node_id(f.node_id);
      r.set_chunk_id(f.chunk_id);
      r.set_piece_id(f.piece_id);
      r.set_stripe(f.stripe);
      r.set_shard(f.shard);
      RETURN_IF_ERROR(meta::scrub_findings::Append(t, r));
    }
    return meta::scrub_findings::Trim(t, kRecentFindings).status();
  });
}

absl::StatusOr<std::vector<ScrubFinding>> Scrubber::RecentFindings() const {
  auto t = meta_.backend().Snapshot();
  ASSIGN_OR_RETURN(auto rows, meta::scrub_findings::Newest(*t, kRecentFindings));
  std::vector<ScrubFinding> out;
  for (const v1::ScrubFindingRecord& r : rows) {
    out.push_back(
        {r.time_ms(), r.source(),
         FoundShard{r.node_id(), r.chunk_id(), r.piece_id(), r.stripe(), r.shard(), r.problem()}});
  }
  return out;
}

absl::StatusOr<std::string> Scrubber::FindingsJson(size_t pending_scanned) const {
  ASSIGN_OR_RETURN(auto pending, meta_.PendingRepairs(pending_scanned));
  std::set<std::tuple<std::string, uint64_t, uint32_t>> queued;
  for (const v1::RepairRecord& r : pending) {
    for (uint32_t shard : r.shards()) queued.insert({r.piece_id(), r.stripe(), shard});
  }
  ASSIGN_OR_RETURN(auto recent, RecentFindings());
  boost::json::array out;
  for (auto it = recent.rbegin(); it != recent.rend(); ++it) {
    const FoundShard& f = it->shard;
    bool waiting = queued.contains({f.piece_id, f.stripe, uint32_t(f.shard)});
    out.push_back(boost::json::object{{"time_ms", it->time_ms},
                                      {"source", it->source},
                                      {"problem", f.problem},
                                      {"node", f.node_id},
                                      {"piece", HexEncode(AsBytes(f.piece_id))},
                                      {"stripe", f.stripe},
                                      {"shard", f.shard},
                                      {"repair", waiting ? "queued" : "repaired"}});
  }
  return boost::json::serialize(out);
}

absl::StatusOr<size_t> Scrubber::HandleFindings() {
  std::lock_guard serial(findings_mu_);
  if (!handled_loaded_) {
    // The findings kept in the metadata were handled before a restart: not mapped, queued
    // and listed again while their node still reports them.
    ASSIGN_OR_RETURN(auto stored, RecentFindings());
    std::lock_guard lock(mu_);
    for (const ScrubFinding& f : stored) {
      if (!f.shard.chunk_id.empty()) handled_.insert({f.shard.node_id, f.shard.chunk_id});
    }
    handled_loaded_ = true;
  }
  Findings fresh;
  size_t count = 0;
  {
    std::lock_guard lock(mu_);
    for (int i = 0; i < pipeline_.pool().size(); ++i) {
      const client::NodeClient& node = pipeline_.pool().node(i);
      for (const std::string& chunk : node.status().corrupt_chunks) {
        if (handled_.contains({node.id(), chunk})) continue;
        fresh[node.id()].insert(chunk);
        ++count;
      }
    }
  }
  if (count == 0) return 0;
  size_t queued = 0;
  size_t mapped = 0;
  std::string after;
  auto down = [this](const std::string& id) { return NodeDown(id); };
  while (true) {
    ASSIGN_OR_RETURN(auto page, meta_.ListPieces(after, kPiecePage));
    for (const auto& [id, piece] : page) {
      std::vector<FoundShard> found = MatchFindings(pipeline_.ring(), fresh, id, piece.manifest());
      if (found.empty()) continue;
      mapped += found.size();
      auto records = RepairsFor(found, piece.manifest(), "scrub", down, UnixNowMs());
      RETURN_IF_ERROR(QueueAll(records));
      RETURN_IF_ERROR(Remember(found, "node scrub"));
      findings_queued_.Inc(found.size());
      queued += records.size();
    }
    if (page.size() < kPiecePage) break;
    after = page.back().first;
  }
  spdlog::info("scrub findings: {} new, {} shards of stored pieces, {} stripes queued for repair",
               count, mapped, queued);
  // Findings that map to no piece are chunks no metadata names (the orphan sweep's business)
  // or shards moved away already: handled too, so that they are not mapped every minute.
  std::lock_guard lock(mu_);
  for (const auto& [node, chunks] : fresh) {
    for (const std::string& chunk : chunks) handled_.insert({node, chunk});
  }
  return queued;
}

absl::StatusOr<WorkResult> Scrubber::FindingsStep() {
  RETURN_IF_ERROR(HandleFindings().status());
  return WorkResult::Idle();
}

bool Scrubber::StartDeepScrub() {
  {
    std::lock_guard lock(mu_);
    if (progress_.running || deep_requested_) return false;
    deep_requested_ = true;
  }
  deep_worker_.Wake();
  return true;
}

DeepScrubProgress Scrubber::progress() const {
  std::lock_guard lock(mu_);
  return progress_;
}

int64_t Scrubber::LastDeepScrubMs() {
  if (options_.state_file.empty()) return UnixNowMs();
  std::ifstream in(options_.state_file);
  int64_t ms = 0;
  if (in >> ms && ms > 0) return ms;
  // Never scrubbed: count from now (a new gateway has nothing to scrub yet).
  ms = UnixNowMs();
  RememberDeepScrub(ms);
  return ms;
}

void Scrubber::RememberDeepScrub(int64_t ms) {
  if (options_.state_file.empty()) return;
  std::string tmp = options_.state_file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << ms << "\n";
  }
  std::rename(tmp.c_str(), options_.state_file.c_str());
}

absl::StatusOr<WorkResult> Scrubber::DeepStep() {
  if (last_deep_ms_ < 0) last_deep_ms_ = LastDeepScrubMs();
  int64_t interval = options_.deep_interval.count();
  bool due = interval > 0 && UnixNowMs() >= last_deep_ms_ + interval;
  {
    std::lock_guard lock(mu_);
    due = due || deep_requested_;
  }
  if (!due) {
    return WorkResult::Idle(std::chrono::milliseconds(
        interval > 0 ? std::clamp<int64_t>(last_deep_ms_ + interval - UnixNowMs(), 1, 60'000)
                     : 60'000));
  }
  // A failed run is not retried before the next interval (it is logged, and shown).
  absl::Status s = DeepScrub();
  if (!s.ok()) spdlog::error("deep scrub: {}", s.ToString());
  last_deep_ms_ = UnixNowMs();
  RememberDeepScrub(last_deep_ms_);
  return WorkResult::Busy();
}

void Scrubber::Throttle(uint64_t bytes) {
  std::chrono::steady_clock::time_point due;
  {
    std::lock_guard lock(mu_);
    progress_.bytes += bytes;
    due = throttle_start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                std::chrono::duration<double>(
                                    double(progress_.bytes) /
                                    double(std::max<uint64_t>(1, options_.deep_bytes_per_second))));
  }
  auto wait = due - std::chrono::steady_clock::now();
  if (wait.count() > 0) {
    (void)deep_worker_.Pause(std::chrono::ceil<std::chrono::milliseconds>(wait));
  }
}

absl::Status Scrubber::DeepScrub() {
  uint64_t total = 0;
  std::string after;
  while (true) {  // counting first gives the progress bar its end
    ASSIGN_OR_RETURN(auto page, meta_.ListPieces(after, kPiecePage));
    total += page.size();
    if (page.size() < kPiecePage) break;
    after = page.back().first;
  }
  {
    std::lock_guard lock(mu_);
    uint64_t run = progress_.run + 1;
    progress_ = DeepScrubProgress();
    progress_.running = true;
    progress_.run = run;
    progress_.pieces_total = total;
    progress_.started_ms = UnixNowMs();
    deep_requested_ = false;
    throttle_start_ = std::chrono::steady_clock::now();
  }
  spdlog::info("deep scrub: started, {} pieces", total);
  absl::Status status;
  after.clear();
  while (status.ok()) {
    auto page = meta_.ListPieces(after, kPiecePage);
    if (!page.ok()) {
      status = page.status();
      break;
    }
    for (const auto& [id, piece] : *page) {
      if (deep_worker_.stopping()) status = absl::CancelledError("the gateway is stopping");
      if (!status.ok()) break;
      status = ScrubPiece(id, piece.manifest());
      std::lock_guard lock(mu_);
      ++progress_.pieces_done;
    }
    if (page->size() < kPiecePage) break;
    after = page->back().first;
  }
  std::lock_guard lock(mu_);
  progress_.running = false;
  progress_.finished_ms = UnixNowMs();
  progress_.error = status.ok() ? "" : status.ToString();
  spdlog::info("deep scrub: finished, {} pieces, {} shards, {} bytes, {} failed, {} skipped{}",
               progress_.pieces_done, progress_.shards_checked, progress_.bytes, progress_.failures,
               progress_.skipped, status.ok() ? "" : " (stopped: " + status.ToString() + ")");
  return status;
}

// Reads and opens every shard of every stripe of one piece; queues the stripes with bad
// shards. A piece whose manifest or key cannot be used is logged and skipped: repair could
// not rebuild it either, and the metadata store's own errors are what stops a run.
absl::Status Scrubber::ScrubPiece(const std::string& piece_id, const v1::Manifest& proto) {
  auto manifest = FromProto(proto);
  if (!manifest.ok()) {
    spdlog::error("deep scrub: piece manifest unusable: {}", manifest.status().ToString());
    return absl::OkStatus();
  }
  auto key = pipeline_.ring().UnwrapDataKey(AsBytes(manifest->wrapped_key), manifest->object_id);
  if (!key.ok()) {
    spdlog::error("deep scrub: piece data key: {}", key.status().ToString());
    return absl::OkStatus();
  }
  auto sealer = client::ShardSealer::Create(manifest->algorithm, *key, manifest->object_id,
                                            manifest->k, manifest->m);
  auto layout = client::StripeLayout::Create(manifest->size, manifest->stripe_bytes, manifest->k);
  if (!sealer.ok() || !layout.ok() || layout->StripeCount() != manifest->stripes.size()) {
    spdlog::error("deep scrub: piece manifest inconsistent ({} stripes)", manifest->stripes.size());
    return absl::OkStatus();
  }
  std::vector<FoundShard> bad;
  AlignedBuffer plain;
  for (uint64_t s = 0; s < manifest->stripes.size(); ++s) {
    client::StripeInfo info = layout->Stripe(s);
    size_t expect =
        client::ShardBytesFor(info.plaintext_bytes, manifest->k) + client::kSealTagBytes;
    if (plain.size() < expect) plain = AlignedBuffer(expect);
    auto got = FetchStripe(pipeline_, manifest->object_id, s, proto.stripes(int(s)));
    uint64_t bytes = 0, failed = 0, skipped = 0;
    for (int i = 0; i < int(got.size()); ++i) {
      absl::Status st = got[i].status();
      if (got[i].ok()) {
        bytes += got[i]->size();
        if (got[i]->size() != expect) {
          st = absl::DataLossError("shard of " + std::to_string(got[i]->size()) + " bytes");
        } else {
          client::ShardPlace place{s, i, info.last, info.plaintext_bytes};
          st =
              sealer->Open(place, AsBytes(*got[i]), {plain.data(), expect - client::kSealTagBytes});
        }
      }
      if (st.ok()) continue;
      if (Unreachable(st)) {
        ++skipped;
        continue;
      }
      ++failed;
      bad.push_back({proto.stripes(int(s)).nodes(i), "", piece_id, s, i,
                     absl::IsNotFound(st) ? "missing" : "corrupt"});
    }
    deep_bytes_.Inc(bytes);
    deep_failures_.Inc(failed);
    {
      std::lock_guard lock(mu_);
      progress_.shards_checked += got.size();
      progress_.failures += failed;
      progress_.skipped += skipped;
    }
    Throttle(bytes);
  }
  if (bad.empty()) return absl::OkStatus();
  spdlog::warn("deep scrub: {} bad shards in a piece, queued for repair", bad.size());
  auto down = [this](const std::string& id) { return NodeDown(id); };
  RETURN_IF_ERROR(QueueAll(RepairsFor(bad, proto, "deep scrub", down, UnixNowMs())));
  return Remember(bad, "deep scrub");
}

}  // namespace mosaic::gateway
