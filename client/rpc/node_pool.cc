#include "client/rpc/node_pool.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <map>

#include "client/rpc/chunk_wire.h"
#include "common/check.h"
#include "common/crc32c.h"
#include "common/latch.h"
#include "common/thread_name.h"
#include "common/tls_cert.h"
#include "proto/mosaic/v1/node.grpc.pb.h"

namespace mosaic::client {
namespace {

absl::Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

bool IsTransportFailure(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnavailable ||
         s.code() == absl::StatusCode::kDeadlineExceeded;
}

std::shared_ptr<grpc::Channel> MakeChannel(const NodeEndpoint& e, const RpcOptions& o) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(o.max_message_bytes);
  args.SetMaxSendMessageSize(o.max_message_bytes);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 20000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  // gRPC also takes this as the time one connection attempt (TCP, TLS and HTTP/2 handshakes)
  // may last: at 200 ms, loaded machines and distant providers failed to connect at all.
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 5000);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  // One channel per node, not shared with another NodeClient of the same address.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (e.plaintext) {
    creds = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = e.tls_ca_pem;
    creds = grpc::SslCredentials(ssl);
    if (!e.tls_server_name.empty()) {
      args.SetSslTargetNameOverride(e.tls_server_name);
    }
  }
  return grpc::CreateCustomChannel(e.address, creds, args);
}

// gRPC reports a refused certificate as one more unreachable node ("… Handshake failed …").
// For a pinned node, fetch the certificate it presents and say plainly that it differs.
absl::Status ExplainPinMismatch(const NodeEndpoint& e, absl::Status s) {
  if (s.code() != absl::StatusCode::kUnavailable || e.plaintext || e.tls_fingerprint.empty() ||
      s.message().find("andshake") == std::string_view::npos) {
    return s;
  }
  auto pem = tls::FetchCertificate(e.address, std::chrono::milliseconds(2000));
  if (!pem.ok()) return s;
  auto presented = tls::Fingerprint(*pem);
  if (!presented.ok() || *presented == e.tls_fingerprint) return s;
  return absl::UnavailableError("node " + e.spec.id + " presented certificate " + *presented +
                                " but " + e.tls_fingerprint + " is pinned");
}

}  // namespace

const char* NodeHealthName(NodeHealth h) {
  switch (h) {
    case NodeHealth::kUp:
      return "up";
    case NodeHealth::kSuspect:
      return "suspect";
    case NodeHealth::kDown:
      return "down";
  }
  return "?";
}

// Shared with the callbacks of calls in flight. ~NodeClient cancels those calls and waits
// until their callbacks have destroyed their contexts, then drops the stub and channel on
// its own thread. gRPC 1.51 must not see the last reference to a channel go inside a
// callback: that releases its callback completion queue from one of the queue's own
// threads, which then runs on a freed queue (a double free; seen when a hedged read to a
// slow node was still in flight as its pool was destroyed). A ClientContext holds a
// reference to its channel, so the contexts are counted, not just the callbacks.
struct NodeClient::Impl {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::ChunkService::Stub> stub;
  // The same service, for the calls whose shard bytes bypass protobuf (chunk_wire.h).
  std::unique_ptr<grpc::GenericStub> generic;
  int failures_to_down = 3;
  mutable std::mutex mu;
  NodeStatus status;
  int consecutive_failures = 0;
  std::string logged_mismatch;  // the last pin mismatch logged, so each is logged once
  // Async calls in flight, by context (kept alive here so that they can be cancelled).
  std::mutex calls_mu;
  std::condition_variable calls_cv;
  std::map<grpc::ClientContext*, std::shared_ptr<grpc::ClientContext>> calls;

  void Begin(std::shared_ptr<grpc::ClientContext> ctx) {
    std::lock_guard lock(calls_mu);
    calls.emplace(ctx.get(), std::move(ctx));
  }
  // The last thing a call's callback does. The callback's reference to the call goes
  // first, so that the context (and its channel reference) is destroyed here, under
  // calls_mu: ~NodeClient cannot drop its own channel reference until then.
  template <typename Call>
  void End(std::shared_ptr<Call> call) {
    grpc::ClientContext* ctx = &call->ctx;
    call.reset();
    std::lock_guard lock(calls_mu);
    calls.erase(ctx);
    if (calls.empty()) calls_cv.notify_all();
  }
  // Cancels every call in flight and waits for their callbacks (which then see CANCELLED).
  void CancelAndWait() {
    std::vector<std::shared_ptr<grpc::ClientContext>> live;
    {
      std::lock_guard lock(calls_mu);
      for (auto& [ptr, ctx] : calls) live.push_back(ctx);
    }
    // Not under calls_mu: gRPC may run a callback (and so End) inside TryCancel.
    for (auto& ctx : live) ctx->TryCancel();
    std::unique_lock lock(calls_mu);
    calls_cv.wait(lock, [&] { return calls.empty(); });
  }

  void Record(const absl::Status& s) {
    std::lock_guard lock(mu);
    if (s.ok() || !IsTransportFailure(s)) {
      if (s.ok() || s.code() != absl::StatusCode::kUnauthenticated) {
        consecutive_failures = 0;
        status.health = NodeHealth::kUp;
        status.last_seen = std::chrono::system_clock::now();
      }
      return;
    }
    ++consecutive_failures;
    status.health =
        consecutive_failures >= failures_to_down ? NodeHealth::kDown : NodeHealth::kSuspect;
  }

  // The status fields a successful check reports.
  void Update(const v1::NodeInfo& info, double latency_ms) {
    std::lock_guard lock(mu);
    status.latency_ms =
        status.latency_ms == 0 ? latency_ms : 0.8 * status.latency_ms + 0.2 * latency_ms;
    status.capacity_bytes = info.capacity_bytes();
    status.free_bytes = info.free_bytes();
    status.used_bytes = info.tenant().used_bytes();
    status.quota_bytes = info.tenant().quota_bytes();
    status.node_id = info.node_id();
    status.corrupt_chunks.assign(info.scrub().corrupt_chunk_ids().begin(),
                                 info.scrub().corrupt_chunk_ids().end());
  }

  template <typename Req, typename Resp>
  struct Call {
    grpc::ClientContext ctx;
    Req req;
    Resp resp;
  };
};

NodeClient::NodeClient(NodeEndpoint endpoint, const RpcOptions& options)
    : endpoint_(std::move(endpoint)), options_(options), impl_(std::make_shared<Impl>()) {
  impl_->failures_to_down = options_.failures_to_down;
  impl_->channel = MakeChannel(endpoint_, options_);
  impl_->stub = v1::ChunkService::NewStub(impl_->channel);
  impl_->generic = std::make_unique<grpc::GenericStub>(impl_->channel);
}

NodeClient::~NodeClient() {
  impl_->CancelAndWait();
  impl_->stub.reset();
  impl_->generic.reset();
  impl_->channel.reset();
}

namespace {

// gRPC's callbacks are std::function, which must be copyable; ours are move-only.
template <typename F>
std::shared_ptr<F> Share(F f) {
  return std::make_shared<F>(std::move(f));
}

// Every call carries the tenant's token and the gateway's generation (fencing, node.proto).
template <typename Call>
void Prepare(Call& call, const std::string& token, uint64_t generation,
             std::chrono::milliseconds timeout) {
  call.ctx.AddMetadata("authorization", "Bearer " + token);
  if (generation > 0) call.ctx.AddMetadata("mosaic-generation", std::to_string(generation));
  call.ctx.set_deadline(std::chrono::system_clock::now() + timeout);
}

const std::string& MethodPath(const char* name) {
  static const auto* paths = [] {
    auto* m = new std::map<std::string, std::string, std::less<>>;
    for (const char* n : {"PutChunk", "GetChunk"}) {
      (*m)[n] = "/" + std::string(v1::ChunkService::service_full_name()) + "/" + n;
    }
    return m;
  }();
  return paths->find(name)->second;
}

}  // namespace

void NodeClient::Record(const absl::Status& s) { impl_->Record(s); }

void NodeClient::Put(std::string_view chunk_id, ConstByteSpan data, Done done,
                     std::shared_ptr<const void> owner) {
  using C = Impl::Call<grpc::ByteBuffer, grpc::ByteBuffer>;
  auto call = std::make_shared<C>();
  Prepare(*call, endpoint_.token, generation_.load(), options_.call_timeout);
  call->req = wire::PutChunkRequest(chunk_id, data, Crc32c(data), std::move(owner));
  impl_->Begin(std::shared_ptr<grpc::ClientContext>(call, &call->ctx));
  impl_->generic->UnaryCall(
      &call->ctx, MethodPath("PutChunk"), grpc::StubOptions(), &call->req, &call->resp,
      [impl = impl_, call, done = Share(std::move(done))](grpc::Status s) mutable {
        absl::Status status = FromGrpc(s);
        impl->Record(status);
        (*done)(status);
        impl->End(std::move(call));
      });
}

void NodeClient::GetBuffer(std::string_view chunk_id, uint64_t offset, uint64_t length,
                           GetBufferDone done, std::chrono::milliseconds timeout) {
  using C = Impl::Call<grpc::ByteBuffer, grpc::ByteBuffer>;
  auto call = std::make_shared<C>();
  Prepare(*call, endpoint_.token, generation_.load(),
          timeout.count() > 0 ? timeout : options_.call_timeout);
  v1::GetChunkRequest req;
  req.set_chunk_id(std::string(chunk_id));
  req.set_offset(offset);
  req.set_length(length);
  bool own = false;
  grpc::Status serialized =
      grpc::SerializationTraits<v1::GetChunkRequest>::Serialize(req, &call->req, &own);
  if (!serialized.ok()) return done(FromGrpc(serialized));
  impl_->Begin(std::shared_ptr<grpc::ClientContext>(call, &call->ctx));
  impl_->generic->UnaryCall(
      &call->ctx, MethodPath("GetChunk"), grpc::StubOptions(), &call->req, &call->resp,
      [impl = impl_, call, done = Share(std::move(done))](grpc::Status s) mutable {
        absl::Status status = FromGrpc(s);
        impl->Record(status);
        if (status.ok()) {
          (*done)(wire::GetChunkResponseData(call->resp));
        } else {
          (*done)(status);
        }
        impl->End(std::move(call));
      });
}

void NodeClient::Get(std::string_view chunk_id, uint64_t offset, uint64_t length, GetDone done,
                     std::chrono::milliseconds timeout) {
  using C = Impl::Call<v1::GetChunkRequest, v1::GetChunkResponse>;
  auto call = std::make_shared<C>();
  Prepare(*call, endpoint_.token, generation_.load(),
          timeout.count() > 0 ? timeout : options_.call_timeout);
  call->req.set_chunk_id(std::string(chunk_id));
  call->req.set_offset(offset);
  call->req.set_length(length);
  impl_->Begin(std::shared_ptr<grpc::ClientContext>(call, &call->ctx));
  impl_->stub->async()->GetChunk(
      &call->ctx, &call->req, &call->resp,
      [impl = impl_, call, done = Share(std::move(done))](grpc::Status s) mutable {
        absl::Status status = FromGrpc(s);
        impl->Record(status);
        if (status.ok()) {
          (*done)(std::move(*call->resp.mutable_data()));
        } else {
          (*done)(status);
        }
        impl->End(std::move(call));
      });
}

void NodeClient::Delete(std::string_view chunk_id, DeleteDone done) {
  using C = Impl::Call<v1::DeleteChunkRequest, v1::DeleteChunkResponse>;
  auto call = std::make_shared<C>();
  Prepare(*call, endpoint_.token, generation_.load(), options_.call_timeout);
  call->req.set_chunk_id(std::string(chunk_id));
  impl_->Begin(std::shared_ptr<grpc::ClientContext>(call, &call->ctx));
  impl_->stub->async()->DeleteChunk(
      &call->ctx, &call->req, &call->resp,
      [impl = impl_, call, done = Share(std::move(done))](grpc::Status s) mutable {
        absl::Status status = FromGrpc(s);
        impl->Record(status);
        if (status.ok()) {
          (*done)(call->resp.existed());
        } else {
          (*done)(status);
        }
        impl->End(std::move(call));
      });
}

absl::StatusOr<std::pair<std::vector<std::string>, std::string>> NodeClient::List(
    const std::string& after, uint32_t page_size) {
  Impl::Call<v1::ListChunksRequest, v1::ListChunksResponse> call;
  Prepare(call, endpoint_.token, generation_.load(), options_.call_timeout);
  call.req.set_page_token(after);
  call.req.set_page_size(page_size);
  absl::Status s = FromGrpc(impl_->stub->ListChunks(&call.ctx, call.req, &call.resp));
  Record(s);
  if (!s.ok()) return s;
  std::vector<std::string> ids;
  for (const auto& c : call.resp.chunks()) ids.push_back(c.chunk_id());
  return std::make_pair(std::move(ids), call.resp.next_page_token());
}

absl::StatusOr<uint64_t> NodeClient::Fence(uint64_t generation) {
  Impl::Call<v1::FenceTenantRequest, v1::FenceTenantResponse> call;
  Prepare(call, endpoint_.token, generation_.load(), options_.call_timeout);
  call.req.set_generation(generation);
  absl::Status s = FromGrpc(impl_->stub->FenceTenant(&call.ctx, call.req, &call.resp));
  Record(s);
  if (!s.ok()) return s;
  return call.resp.generation();
}

void NodeClient::StartCheck(Done done) {
  using C = Impl::Call<v1::GetNodeInfoRequest, v1::NodeInfo>;
  auto call = std::make_shared<C>();
  Prepare(*call, endpoint_.token, generation_.load(), options_.health_timeout);
  auto start = std::chrono::steady_clock::now();
  impl_->Begin(std::shared_ptr<grpc::ClientContext>(call, &call->ctx));
  impl_->stub->async()->GetNodeInfo(
      &call->ctx, &call->req, &call->resp,
      [impl = impl_, call, start, done = Share(std::move(done))](grpc::Status s) mutable {
        absl::Status status = FromGrpc(s);
        impl->Record(status);
        if (status.ok()) {
          impl->Update(call->resp, std::chrono::duration<double, std::milli>(
                                       std::chrono::steady_clock::now() - start)
                                       .count());
        }
        (*done)(status);
        impl->End(std::move(call));
      });
}

absl::Status NodeClient::Explain(absl::Status s) {
  if (s.ok()) return s;
  absl::Status explained = ExplainPinMismatch(endpoint_, s);
  if (explained.message() != s.message()) {
    std::lock_guard lock(impl_->mu);
    if (impl_->logged_mismatch != explained.message()) {
      impl_->logged_mismatch = std::string(explained.message());
      spdlog::error("{}", impl_->logged_mismatch);
    }
  }
  return explained;
}

absl::Status NodeClient::CheckHealth() {
  auto latch = std::make_shared<Latch>(1);
  auto result = std::make_shared<absl::Status>();
  StartCheck([latch, result](absl::Status s) {
    *result = std::move(s);
    latch->Done();
  });
  latch->Wait();
  return Explain(*result);
}

NodeHealth NodeClient::health() const {
  std::lock_guard lock(impl_->mu);
  return impl_->status.health;
}

NodeStatus NodeClient::status() const {
  std::lock_guard lock(impl_->mu);
  return impl_->status;
}

NodePool::NodePool(std::vector<NodeEndpoint> endpoints, RpcOptions options)
    : nodes_(new std::unique_ptr<NodeClient>[kMaxNodes]), options_(options) {
  for (auto& e : endpoints) {
    auto added = Add(std::move(e));
    CHECK(added.ok());  // callers give distinct ids (the config refuses duplicates)
  }
  health_thread_ = std::thread([this] {
    SetCurrentThreadName("node-health");
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, options_.health_interval, [this] { return stopping_; })) {
      lock.unlock();
      CheckAll();
      lock.lock();
    }
  });
}

NodePool::~NodePool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  health_thread_.join();
}

int NodePool::IndexOf(const std::string& id) const {
  for (int i = 0, n = size(); i < n; ++i) {
    if (nodes_[i]->id() == id) return i;
  }
  return -1;
}

std::vector<NodeSpec> NodePool::Specs() const {
  std::vector<NodeSpec> specs;
  for (int i = 0, n = size(); i < n; ++i) specs.push_back(nodes_[i]->endpoint().spec);
  return specs;
}

absl::StatusOr<int> NodePool::Add(NodeEndpoint endpoint) {
  std::lock_guard lock(add_mu_);
  if (IndexOf(endpoint.spec.id) >= 0) {
    return absl::AlreadyExistsError("node " + endpoint.spec.id + " is already in the pool");
  }
  int index = size();
  if (index >= kMaxNodes) {
    return absl::ResourceExhaustedError("a gateway talks to at most " + std::to_string(kMaxNodes) +
                                        " nodes");
  }
  nodes_[index] = std::make_unique<NodeClient>(std::move(endpoint), options_);
  nodes_[index]->SetGeneration(generation_.load());
  size_.store(index + 1, std::memory_order_release);
  return index;
}

void NodePool::SetGeneration(uint64_t generation) {
  std::lock_guard lock(add_mu_);
  generation_.store(generation);
  for (int i = 0; i < size(); ++i) nodes_[i]->SetGeneration(generation);
}

// One check per node, all in flight at once on gRPC's own threads (no thread per node);
// the pin mismatch explanations, which block, are made here afterwards.
void NodePool::CheckAll() {
  const int n = size();
  auto latch = std::make_shared<Latch>(n);
  auto results = std::make_shared<std::vector<absl::Status>>(n);
  for (int i = 0; i < n; ++i) {
    nodes_[i]->StartCheck([latch, results, i](absl::Status s) {
      (*results)[i] = std::move(s);
      latch->Done();
    });
  }
  latch->Wait();
  for (int i = 0; i < n; ++i) (void)nodes_[i]->Explain((*results)[i]);
}

}  // namespace mosaic::client
