#include "tests/support/hostile_node.h"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>

#include "proto/mosaic/v1/node.grpc.pb.h"

namespace mosaic::test {
namespace {

// Delayed GetChunk calls at once over every HostileNode of the process, and the most seen.
struct SlowGetTally {
  std::mutex mu;
  int now = 0;
  int most = 0;
} all_slow_gets;

void AllSlowGets(int change) {
  std::lock_guard lock(all_slow_gets.mu);
  all_slow_gets.now += change;
  all_slow_gets.most = std::max(all_slow_gets.most, all_slow_gets.now);
}

}  // namespace

// The synchronous API keeps the double short; a delayed call holds one of the server's
// threads, and waits on a condition variable so that the destructor can end it.
struct HostileNode::Service final : v1::ChunkService::Service {
  std::string node_id;
  mutable std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  HostileBehaviour behaviour = HostileBehaviour::kHonest;
  std::chrono::milliseconds delay{0};
  int gets = 0;
  std::chrono::milliseconds delete_delay{0};
  int deletes_in_flight = 0;
  int max_deletes_in_flight = 0;
  int slow_gets_in_flight = 0;
  int max_slow_gets_in_flight = 0;
  std::map<std::string, std::string> chunks;

  grpc::Status PutChunk(grpc::ServerContext*, const v1::PutChunkRequest* req,
                        v1::PutChunkResponse* resp) override {
    std::lock_guard lock(mu);
    auto [it, created] = chunks.insert_or_assign(req->chunk_id(), req->data());
    resp->set_created(created);
    return grpc::Status::OK;
  }

  grpc::Status GetChunk(grpc::ServerContext* ctx, const v1::GetChunkRequest* req,
                        v1::GetChunkResponse* resp) override {
    std::unique_lock lock(mu);
    ++gets;
    auto it = chunks.find(req->chunk_id());
    if (it == chunks.end()) return {grpc::StatusCode::NOT_FOUND, "no such chunk"};
    std::string data = it->second;
    switch (behaviour) {
      case HostileBehaviour::kHonest:
        break;
      case HostileBehaviour::kSlow: {
        auto until = std::chrono::steady_clock::now() + delay;
        max_slow_gets_in_flight = std::max(max_slow_gets_in_flight, ++slow_gets_in_flight);
        AllSlowGets(+1);
        cv.wait_until(lock, until, [&] { return stopping || ctx->IsCancelled(); });
        --slow_gets_in_flight;
        AllSlowGets(-1);
        break;
      }
      case HostileBehaviour::kWrongChunk: {
        auto other = std::find_if(chunks.begin(), chunks.end(), [&](const auto& c) {
          return c.first != req->chunk_id() && c.second.size() == data.size();
        });
        if (other != chunks.end()) {
          data = other->second;
          break;
        }
        [[fallthrough]];
      }
      case HostileBehaviour::kFlipBytes:
        for (size_t i = data.size() / 2; i < data.size() && i < data.size() / 2 + 8; ++i) {
          data[i] = static_cast<char>(data[i] ^ 0x5a);
        }
        break;
    }
    uint64_t offset = std::min<uint64_t>(req->offset(), data.size());
    uint64_t length = req->length() == 0 ? data.size() - offset
                                         : std::min<uint64_t>(req->length(), data.size() - offset);
    resp->set_chunk_length(data.size());
    resp->set_data(data.substr(offset, length));
    return grpc::Status::OK;
  }

  grpc::Status DeleteChunk(grpc::ServerContext*, const v1::DeleteChunkRequest* req,
                           v1::DeleteChunkResponse* resp) override {
    std::unique_lock lock(mu);
    max_deletes_in_flight = std::max(max_deletes_in_flight, ++deletes_in_flight);
    auto until = std::chrono::steady_clock::now() + delete_delay;
    cv.wait_until(lock, until, [&] { return stopping; });
    --deletes_in_flight;
    resp->set_existed(chunks.erase(req->chunk_id()) > 0);
    return grpc::Status::OK;
  }

  grpc::Status GetNodeInfo(grpc::ServerContext*, const v1::GetNodeInfoRequest*,
                           v1::NodeInfo* resp) override {
    std::lock_guard lock(mu);
    resp->set_node_id(node_id);
    resp->set_version("hostile-double");
    resp->set_capacity_bytes(uint64_t{1} << 40);
    resp->set_free_bytes(uint64_t{1} << 40);
    return grpc::Status::OK;
  }
};

absl::StatusOr<std::unique_ptr<HostileNode>> HostileNode::Start(std::string node_id) {
  std::unique_ptr<HostileNode> node(new HostileNode());
  node->service_ = std::make_unique<Service>();
  node->service_->node_id = std::move(node_id);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(64 << 20);
  builder.SetMaxSendMessageSize(64 << 20);
  builder.RegisterService(node->service_.get());
  node->server_ = builder.BuildAndStart();
  if (node->server_ == nullptr || port == 0) {
    return absl::InternalError("hostile node: could not start a gRPC server on loopback");
  }
  node->address_ = "127.0.0.1:" + std::to_string(port);
  return node;
}

HostileNode::~HostileNode() {
  {
    std::lock_guard lock(service_->mu);
    service_->stopping = true;
  }
  service_->cv.notify_all();
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  server_->Wait();
}

void HostileNode::set_behaviour(HostileBehaviour b, std::chrono::milliseconds delay) {
  std::lock_guard lock(service_->mu);
  service_->behaviour = b;
  service_->delay = delay;
}

int HostileNode::gets() const {
  std::lock_guard lock(service_->mu);
  return service_->gets;
}

void HostileNode::set_delete_delay(std::chrono::milliseconds delay) {
  std::lock_guard lock(service_->mu);
  service_->delete_delay = delay;
}

int HostileNode::MaxConcurrentSlowGetsOfAll() {
  std::lock_guard lock(all_slow_gets.mu);
  return all_slow_gets.most;
}

void HostileNode::ResetSlowGetsOfAll() {
  std::lock_guard lock(all_slow_gets.mu);
  all_slow_gets.most = all_slow_gets.now;
}

int HostileNode::max_concurrent_slow_gets() const {
  std::lock_guard lock(service_->mu);
  return service_->max_slow_gets_in_flight;
}

int HostileNode::max_concurrent_deletes() const {
  std::lock_guard lock(service_->mu);
  return service_->max_deletes_in_flight;
}

size_t HostileNode::chunk_count() const {
  std::lock_guard lock(service_->mu);
  return service_->chunks.size();
}

bool HostileNode::has_chunk(const std::string& chunk_id) const {
  std::lock_guard lock(service_->mu);
  return service_->chunks.count(chunk_id) > 0;
}

}  // namespace mosaic::test
