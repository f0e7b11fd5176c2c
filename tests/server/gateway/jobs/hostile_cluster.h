#pragma once
// Gateway jobs (repair, deep scrub) against in-process node doubles
// (tests/support/hostile_node.h): `count` doubles "node-0", "node-1", … under providers
// "provider-0", …, a pipeline with 1 MiB stripes (4+2) over them, and a metadata store in a
// temporary folder holding the objects written through the pipeline. The doubles answer on
// loopback; no process is started.
//
// Not thread-safe: build, use and destroy it on the test's thread (the jobs it serves may
// use it from theirs).

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "client/pipeline/pipeline.h"
#include "common/metrics.h"
#include "server/gateway/meta/manifest_codec.h"
#include "server/gateway/meta/meta_store.h"
#include "tests/support/hostile_node.h"
#include "tests/support/pipeline_io.h"

namespace mosaic::gateway::test {

class HostileCluster {
 public:
  // Starts the doubles, the pool, the pipeline and the store (with bucket "b").
  static absl::StatusOr<std::unique_ptr<HostileCluster>> Start(int count) {
    std::unique_ptr<HostileCluster> c(new HostileCluster());
    const char* tmp = getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr && *tmp ? tmp : "/tmp") + "/jobs-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) return absl::InternalError("mkdtemp failed");
    c->dir_ = pattern;
    std::vector<client::NodeEndpoint> endpoints;
    for (int i = 0; i < count; ++i) {
      std::string id = "node-" + std::to_string(i);
      auto node = mosaic::test::HostileNode::Start(id);
      if (!node.ok()) return node.status();
      endpoints.push_back(mosaic::test::PipelineEndpoint(id, i, (*node)->address()));
      c->nodes_.push_back(std::move(*node));
    }
    c->ring_ = mosaic::test::NewKeyRing();
    if (c->ring_ == nullptr) return absl::InternalError("no key ring");
    // Generous timeouts for a loaded machine; health checks only when the cluster asks
    // (AllUp), so that none changes a node's health while a job runs.
    client::RpcOptions rpc;
    rpc.call_timeout = std::chrono::seconds(20);
    rpc.health_interval = std::chrono::hours(1);
    c->endpoints_ = endpoints;
    c->pool_ = std::make_unique<client::NodePool>(endpoints, rpc);
    client::PipelineOptions options = mosaic::test::SmallStripeOptions();
    options.stripe_timeout = std::chrono::seconds(30);
    c->pipeline_ = std::make_unique<client::Pipeline>(*c->ring_, *c->pool_, options);
    auto meta = MetaStore::Open(c->dir_ + "/meta");
    if (!meta.ok()) return meta.status();
    c->meta_ = std::move(*meta);
    if (absl::Status s = c->meta_->CreateBucket("b", v1::BucketRecord()); !s.ok()) return s;
    if (absl::Status s = c->AllUp(); !s.ok()) return s;
    return c;
  }

  // The jobs using it must be gone first.
  ~HostileCluster() {
    meta_.reset();
    pipeline_.reset();
    pool_.reset();
    nodes_.clear();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Writes `size` bytes of pattern `seed` and commits them as object "b"/`key` (one piece,
  // its id the object id). Returns the manifest. A write that finds too few nodes (see
  // AllUp) is tried again, 3 times at most.
  absl::StatusOr<client::ObjectManifest> PutObject(const std::string& key, uint64_t seed,
                                                   uint64_t size) {
    auto manifest = mosaic::test::WritePattern(*pipeline_, seed, size);
    for (int attempt = 1; attempt < 3 && manifest.status().code() == absl::StatusCode::kUnavailable;
         ++attempt) {
      if (absl::Status s = AllUp(); !s.ok()) return s;
      manifest = mosaic::test::WritePattern(*pipeline_, seed, size);
    }
    if (!manifest.ok()) return manifest.status();
    v1::ObjectRecord record;
    record.set_size(size);
    *record.add_parts()->mutable_manifest() = ToProto(*manifest);
    if (absl::Status s = meta_->PutObject("b", key, record).status(); !s.ok()) return s;
    if (absl::Status s = AllUp(); !s.ok()) return s;
    return manifest;
  }

  // The id under which the store keeps the piece of `manifest` (PutObject's).
  static std::string PieceId(const client::ObjectManifest& manifest) {
    return std::string(reinterpret_cast<const char*>(manifest.object_id.data()),
                       manifest.object_id.size());
  }

  mosaic::test::HostileNode& node(const std::string& id) {
    return *nodes_.at(std::stoul(id.substr(id.find('-') + 1)));
  }
  MetaStore& meta() { return *meta_; }
  const std::string& dir() const { return dir_; }
  client::Pipeline& pipeline() { return *pipeline_; }
  // The master key ring the pipeline uses, and the doubles as a node list.
  client::KeyRing& ring() { return *ring_; }
  const std::vector<client::NodeEndpoint>& endpoints() const { return endpoints_; }

 private:
  HostileCluster() = default;

  // Health-checks every node until the pool has all of them UP (at most 50 rounds, 100 ms
  // apart). A connection attempt that failed leaves its channel backing off, and calls fail
  // at once meanwhile: rounds in a tight loop would all fall inside that window.
  absl::Status AllUp() {
    for (int round = 0; round < 50; ++round) {
      if (round > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      pool_->CheckAll();
      bool up = true;
      for (int i = 0; i < pool_->size(); ++i) {
        up = up && pool_->node(i).health() == client::NodeHealth::kUp;
      }
      if (up) return absl::OkStatus();
    }
    return absl::UnavailableError("the node doubles are not all up after 50 health checks");
  }

  std::string dir_;
  std::vector<std::unique_ptr<mosaic::test::HostileNode>> nodes_;
  std::vector<client::NodeEndpoint> endpoints_;
  std::unique_ptr<client::KeyRing> ring_;
  std::unique_ptr<client::NodePool> pool_;
  std::unique_ptr<client::Pipeline> pipeline_;
  std::unique_ptr<MetaStore> meta_;
};

}  // namespace mosaic::gateway::test
