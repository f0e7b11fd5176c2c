#include "server/node/rpc/chunk_service.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <map>

#include "common/crc32c.h"
#include "common/version.h"

namespace mosaic::node {
namespace {

constexpr uint32_t kDefaultPageSize = 1000;
constexpr uint32_t kMaxPageSize = 10000;

const char* CodeName(absl::StatusCode code) {
  static const char* kNames[] = {"OK",
                                 "CANCELLED",
                                 "UNKNOWN",
                                 "INVALID_ARGUMENT",
                                 "DEADLINE_EXCEEDED",
                                 "NOT_FOUND",
                                 "ALREADY_EXISTS",
                                 "PERMISSION_DENIED",
                                 "RESOURCE_EXHAUSTED",
                                 "FAILED_PRECONDITION",
                                 "ABORTED",
                                 "OUT_OF_RANGE",
                                 "UNIMPLEMENTED",
                                 "INTERNAL",
                                 "UNAVAILABLE",
                                 "DATA_LOSS",
                                 "UNAUTHENTICATED"};
  int i = static_cast<int>(code);
  return i >= 0 && i <= 16 ? kNames[i] : "UNKNOWN";
}

// absl and gRPC share their status codes, number for number.
grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

}  // namespace

struct ChunkServiceImpl::Metrics {
  explicit Metrics(metrics::Registry& r)
      : registry(r),
        received(r.GetCounter("mosaic_node_received_bytes_total", "Chunk bytes received.")),
        sent(r.GetCounter("mosaic_node_sent_bytes_total", "Chunk bytes sent.")) {
    for (const char* method : {"PutChunk", "GetChunk", "DeleteChunk", "StatChunk", "ListChunks",
                               "GetNodeInfo"}) {
      latency[method] = &r.GetHistogram("mosaic_node_request_seconds",
                                        "Request latency by method.", {{"method", method}});
    }
  }
  metrics::Registry& registry;
  std::map<std::string_view, metrics::Histogram*> latency;  // by method, never added to
  metrics::Counter& received;
  metrics::Counter& sent;
};

struct ChunkServiceImpl::Call {
  Call(grpc::CallbackServerContext* ctx, Metrics& m, const char* method)
      : reactor(ctx->DefaultReactor()),
        metrics(m),
        method(method),
        start(std::chrono::steady_clock::now()) {}

  // Counts the call by method and code, records its latency, and finishes it.
  void Finish(const absl::Status& s, uint64_t bytes_in = 0, uint64_t bytes_out = 0) {
    metrics.registry
        .GetCounter("mosaic_node_requests_total", "Requests by method and status code.",
                    {{"method", method}, {"code", CodeName(s.code())}})
        .Inc();
    metrics.latency.at(method)->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (bytes_in > 0) metrics.received.Inc(bytes_in);
    if (bytes_out > 0) metrics.sent.Inc(bytes_out);
    reactor->Finish(ToGrpc(s));
  }

  grpc::ServerUnaryReactor* reactor;
  Metrics& metrics;
  const char* method;
  std::chrono::steady_clock::time_point start;
};

ChunkServiceImpl::ChunkServiceImpl(SegmentStore& store, const TenantRegistry& tenants,
                                   io::FileSystem& fs, metrics::Registry& metrics,
                                   std::string node_id, std::string data_dir)
    : store_(store),
      tenants_(tenants),
      fs_(fs),
      handles_(std::make_unique<Metrics>(metrics)),
      node_id_(std::move(node_id)),
      data_dir_(std::move(data_dir)) {}

ChunkServiceImpl::~ChunkServiceImpl() = default;

absl::StatusOr<const TenantConfig*> ChunkServiceImpl::Authenticate(
    grpc::CallbackServerContext* ctx) const {
  const auto& md = ctx->client_metadata();
  auto it = md.find("authorization");
  std::string value = it == md.end() ? "" : std::string(it->second.data(), it->second.size());
  return tenants_.Authenticate(value);
}

grpc::ServerUnaryReactor* ChunkServiceImpl::PutChunk(grpc::CallbackServerContext* ctx,
                                                     const v1::PutChunkRequest* req,
                                                     v1::PutChunkResponse* resp) {
  auto call = std::make_shared<Call>(ctx, *handles_, "PutChunk");
  auto tenant = Authenticate(ctx);
  if (!tenant.ok()) return call->Finish(tenant.status()), call->reactor;
  ConstByteSpan data = AsBytes(req->data());
  std::optional<uint32_t> crc;
  if (req->has_crc32c()) {
    crc = Crc32c(data);
    if (*crc != req->crc32c()) {
      call->Finish(
          absl::DataLossError("chunk data does not match its crc32c: corrupted in transit"));
      return call->reactor;
    }
  }
  store_.Put((*tenant)->name, req->chunk_id(), data, (*tenant)->quota_bytes,
             [call, resp, size = data.size()](absl::StatusOr<PutResult> r) {
               if (r.ok()) {
                 resp->set_created(r->created);
                 resp->set_crc32c(r->crc);
               }
               call->Finish(r.status(), r.ok() ? size : 0);
             },
             crc);
  return call->reactor;
}

grpc::ServerUnaryReactor* ChunkServiceImpl::GetChunk(grpc::CallbackServerContext* ctx,
                                                     const v1::GetChunkRequest* req,
                                                     v1::GetChunkResponse* resp) {
  auto call = std::make_shared<Call>(ctx, *handles_, "GetChunk");
  auto tenant = Authenticate(ctx);
  if (!tenant.ok()) return call->Finish(tenant.status()), call->reactor;
  store_.Get((*tenant)->name, req->chunk_id(), req->offset(), req->length(),
             [call, resp](absl::StatusOr<GetResult> r) {
               uint64_t sent = 0;
               if (r.ok()) {
                 sent = r->data.size();
                 resp->set_data(std::move(r->data));
                 resp->set_chunk_length(r->chunk_length);
                 resp->set_chunk_crc32c(r->chunk_crc);
               }
               call->Finish(r.status(), 0, sent);
             });
  return call->reactor;
}

grpc::ServerUnaryReactor* ChunkServiceImpl::DeleteChunk(grpc::CallbackServerContext* ctx,
                                                        const v1::DeleteChunkRequest* req,
                                                        v1::DeleteChunkResponse* resp) {
  auto call = std::make_shared<Call>(ctx, *handles_, "DeleteChunk");
  auto tenant = Authenticate(ctx);
  if (!tenant.ok()) return call->Finish(tenant.status()), call->reactor;
  store_.Delete((*tenant)->name, req->chunk_id(), [call, resp](absl::StatusOr<bool> r) {
    if (r.ok()) resp->set_existed(*r);
    call->Finish(r.status());
  });
  return call->reactor;
}

grpc::ServerUnaryReactor* ChunkServiceImpl::StatChunk(grpc::CallbackServerContext* ctx,
                                                      const v1::StatChunkRequest* req,
                                                      v1::ChunkInfo* resp) {
  auto call = std::make_shared<Call>(ctx, *handles_, "StatChunk");
  auto tenant = Authenticate(ctx);
  if (!tenant.ok()) return call->Finish(tenant.status()), call->reactor;
  store_.Stat((*tenant)->name, req->chunk_id(),
              [call, resp, id = req->chunk_id()](absl::StatusOr<ChunkLocation> r) {
                if (r.ok()) {
                  resp->set_chunk_id(id);
                  resp->set_length(r->length);
                  resp->set_crc32c(r->crc);
                }
                call->Finish(r.status());
              });
  return call->reactor;
}

grpc::ServerUnaryReactor* ChunkServiceImpl::ListChunks(grpc::CallbackServerContext* ctx,
                                                       const v1::ListChunksRequest* req,
                                                       v1::ListChunksResponse* resp) {
  auto call = std::make_shared<Call>(ctx, *handles_, "ListChunks");
  auto tenant = Authenticate(ctx);
  if (!tenant.ok()) return call->Finish(tenant.status()), call->reactor;
  uint32_t page = req->page_size() == 0 ? kDefaultPageSize : req->page_size();
  if (page > kMaxPageSize) {
    call->Finish(absl::InvalidArgumentError("page_size must be at most 10000"));
    return call->reactor;
  }
  // One more than the page tells whether another page follows.
  store_.List((*tenant)->name, req->page_token(), page + 1,
              [call, resp, page](absl::StatusOr<std::vector<ChunkEntry>> r) {
                if (r.ok()) {
                  for (size_t i = 0; i < r->size() && i < page; ++i) {
                    v1::ChunkInfo* info = resp->add_chunks();
                    info->set_chunk_id((*r)[i].chunk_id);
                    info->set_length((*r)[i].location.length);
                    info->set_crc32c((*r)[i].location.crc);
                  }
                  if (r->size() > page) resp->set_next_page_token((*r)[page - 1].chunk_id);
                }
                call->Finish(r.status());
              });
  return call->reactor;
}

grpc::ServerUnaryReactor* ChunkServiceImpl::GetNodeInfo(grpc::CallbackServerContext* ctx,
                                                        const v1::GetNodeInfoRequest*,
                                                        v1::NodeInfo* resp) {
  auto call = std::make_shared<Call>(ctx, *handles_, "GetNodeInfo");
  auto tenant = Authenticate(ctx);
  if (!tenant.ok()) return call->Finish(tenant.status()), call->reactor;
  resp->set_version(kVersion);
  resp->set_node_id(node_id_);
  if (auto space = fs_.GetSpace(data_dir_); space.ok()) {
    resp->set_capacity_bytes(space->capacity_bytes);
    resp->set_free_bytes(space->free_bytes);
  }
  resp->set_used_bytes(store_.TotalUsedBytes());
  const std::string& name = (*tenant)->name;
  TenantUsage usage = store_.Usage(name);
  v1::TenantUsage* t = resp->mutable_tenant();
  t->set_name(name);
  t->set_used_bytes(usage.bytes);
  t->set_chunk_count(usage.chunks);
  t->set_quota_bytes((*tenant)->quota_bytes);
  ScrubStats scrub = store_.Scrub();
  v1::ScrubReport* report = resp->mutable_scrub();
  report->set_passes(scrub.passes);
  report->set_last_pass_finished_unix(scrub.last_pass_finished_unix);
  report->set_chunks_checked(scrub.chunks_checked);
  for (const std::string& id : store_.CorruptChunks(name)) report->add_corrupt_chunk_ids(id);
  call->Finish(absl::OkStatus());
  return call->reactor;
}

}  // namespace mosaic::node
