#include "client/pipeline/pipeline.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <set>

#include "client/pipeline/object_reader.h"
#include "client/pipeline/object_writer.h"
#include "common/status.h"

namespace mosaic::client {

std::string ChunkIdString(const ChunkId& id) {
  return std::string(reinterpret_cast<const char*>(id.data()), id.size());
}

void InFlightChunks::Add(const std::string& chunk_id) {
  std::lock_guard lock(mu_);
  ++ids_[chunk_id];
}

void InFlightChunks::Remove(const std::vector<std::string>& chunk_ids) {
  std::lock_guard lock(mu_);
  for (const std::string& id : chunk_ids) {
    auto it = ids_.find(id);
    if (it != ids_.end() && --it->second == 0) ids_.erase(it);
  }
}

bool InFlightChunks::Contains(const std::string& chunk_id) const {
  std::lock_guard lock(mu_);
  return ids_.contains(chunk_id);
}

size_t InFlightChunks::size() const {
  std::lock_guard lock(mu_);
  return ids_.size();
}

int ManifestLossesSurvived(const ObjectManifest& manifest, const NodePool& pool) {
  int worst = manifest.m;
  for (const StripePlacement& stripe : manifest.stripes) {
    std::vector<std::string> providers;
    for (const std::string& node : stripe.nodes) {
      int i = pool.IndexOf(node);
      providers.push_back(i < 0 ? "?" + node : pool.node(i).endpoint().spec.provider);
    }
    worst = std::min(worst, ProviderLossesSurvived(providers, manifest.k));
  }
  return worst;
}

Pipeline::Pipeline(const KeyRing& ring, NodePool& pool, PipelineOptions options)
    : ring_(ring),
      pool_(pool),
      options_(options),
      placer_(std::make_shared<const Placer>(pool.Specs())),
      excluded_(new std::atomic<bool>[NodePool::kMaxNodes]),
      read_budget_(options.read_budget_bytes),
      workers_(options.worker_threads, "pipeline") {
  for (int i = 0; i < NodePool::kMaxNodes; ++i) excluded_[i] = false;
}

std::shared_ptr<const Placer> Pipeline::placer() const {
  std::lock_guard lock(placer_mu_);
  return placer_;
}

absl::StatusOr<int> Pipeline::AddNode(NodeEndpoint endpoint) {
  // placer_mu_ is held across the add so that two adds cannot publish placers out of order.
  std::lock_guard lock(placer_mu_);
  ASSIGN_OR_RETURN(int index, pool_.Add(std::move(endpoint)));
  placer_ = std::make_shared<const Placer>(pool_.Specs());
  return index;
}

Pipeline::~Pipeline() = default;

bool Pipeline::Usable(int node) const { return !Excluded(node) && Readable(node); }

bool Pipeline::Readable(int node) const { return pool_.node(node).health() != NodeHealth::kDown; }

bool Pipeline::Excluded(int node) const { return excluded_[node].load(std::memory_order_relaxed); }

void Pipeline::SetExcluded(const std::vector<std::string>& node_ids) {
  for (int i = 0; i < pool_.size(); ++i) {
    bool excluded =
        std::find(node_ids.begin(), node_ids.end(), pool_.node(i).id()) != node_ids.end();
    excluded_[i].store(excluded, std::memory_order_relaxed);
  }
}

absl::StatusOr<std::unique_ptr<ObjectWriter>> Pipeline::NewWriter() {
  return NewWriter(options_.k, options_.m);
}

absl::StatusOr<std::unique_ptr<ObjectWriter>> Pipeline::NewWriter(int k, int m) {
  ObjectManifest manifest;
  manifest.k = k;
  manifest.m = m;
  manifest.stripe_bytes = options_.stripe_bytes;
  manifest.algorithm = options_.algorithm;
  manifest.object_id = NewObjectId();
  SecretBytes data_key = NewDataKey();
  manifest.wrapped_key = ring_.WrapDataKey(data_key, manifest.object_id);
  ShardCodecOptions codec_options{k, m, options_.stripe_bytes, options_.algorithm};
  ASSIGN_OR_RETURN(std::unique_ptr<ShardCodec> codec,
                   ShardCodec::Create(codec_options, ring_, data_key, manifest.object_id));
  return std::unique_ptr<ObjectWriter>(
      new ObjectWriter(*this, std::move(codec), std::move(manifest)));
}

absl::StatusOr<std::unique_ptr<ObjectReader>> Pipeline::NewReader(const ObjectManifest& manifest,
                                                                  uint64_t offset,
                                                                  uint64_t length) {
  ASSIGN_OR_RETURN(SecretBytes data_key,
                   ring_.UnwrapDataKey(AsBytes(manifest.wrapped_key), manifest.object_id));
  ShardCodecOptions codec_options{manifest.k, manifest.m, manifest.stripe_bytes,
                                  manifest.algorithm};
  ASSIGN_OR_RETURN(std::unique_ptr<ShardCodec> codec,
                   ShardCodec::Create(codec_options, ring_, data_key, manifest.object_id));
  ASSIGN_OR_RETURN(StripeLayout layout,
                   StripeLayout::Create(manifest.size, manifest.stripe_bytes, manifest.k));
  if (layout.StripeCount() != manifest.stripes.size()) {
    return absl::DataLossError("manifest names " + std::to_string(manifest.stripes.size()) +
                               " stripes for an object of " + std::to_string(manifest.size) +
                               " bytes");
  }
  ASSIGN_OR_RETURN(StripeLayout::Range range, layout.MapByteRange(offset, length));
  return std::unique_ptr<ObjectReader>(
      new ObjectReader(*this, manifest, std::move(codec), layout, range));
}

ObjectManifest ShardsLeft(const ObjectManifest& manifest, const std::vector<BadShard>& failed) {
  ObjectManifest left = manifest;
  std::set<std::pair<uint64_t, int>> keep;
  for (const BadShard& f : failed) keep.insert({f.stripe, f.shard_index});
  for (uint64_t s = 0; s < left.stripes.size(); ++s) {
    std::vector<std::string>& nodes = left.stripes[s].nodes;
    for (int i = 0; i < static_cast<int>(nodes.size()); ++i) {
      if (!keep.contains({s, i})) nodes[i].clear();
    }
  }
  return left;
}

std::vector<BadShard> Pipeline::Delete(const ObjectManifest& manifest) {
  struct Gate {  // the deletes in flight (bounded) and their failures
    std::mutex mu;
    std::condition_variable cv;
    size_t in_flight = 0;
    std::vector<BadShard> faults;
  };
  auto gate = std::make_shared<Gate>();
  for (uint64_t stripe = 0; stripe < manifest.stripes.size(); ++stripe) {
    for (int shard = 0; shard < static_cast<int>(manifest.stripes[stripe].nodes.size()); ++shard) {
      const std::string& node = manifest.stripes[stripe].nodes[shard];
      if (node.empty()) continue;  // already deleted (a retried deletion)
      const int index = pool_.IndexOf(node);
      if (index < 0) {
        std::lock_guard lock(gate->mu);
        gate->faults.push_back({stripe, shard, node,
                                absl::NotFoundError("node " + node + " is not in the node list")});
        continue;
      }
      {
        // Bounded: a 5 GiB object is 7,680 shard deletes, not to be sent all at once.
        std::unique_lock lock(gate->mu);
        gate->cv.wait(lock, [&] { return gate->in_flight < kMaxDeletesInFlight; });
        ++gate->in_flight;
      }
      ChunkId id = ring_.ComputeChunkId(manifest.object_id, stripe, shard);
      pool_.node(index).Delete(ChunkIdString(id),
                               [gate, stripe, shard, node](absl::StatusOr<bool> r) {
                                 std::lock_guard lock(gate->mu);
                                 if (!r.ok())
                                   gate->faults.push_back({stripe, shard, node, r.status()});
                                 --gate->in_flight;
                                 gate->cv.notify_all();
                               });
    }
  }
  std::unique_lock lock(gate->mu);
  gate->cv.wait(lock, [&] { return gate->in_flight == 0; });
  return gate->faults;
}

}  // namespace mosaic::client
