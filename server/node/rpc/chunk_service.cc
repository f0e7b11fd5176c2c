#include "server/node/rpc/chunk_service.h"

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "common/buffer_pool.h"
#include "common/crc32c.h"
#include "common/version.h"
#include "server/node/rpc/chunk_messages.h"
#include "server/node/store/record.h"

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

// The "authorization" metadata of a call, empty if absent.
std::string AuthorizationOf(const grpc::CallbackServerContext& ctx) {
  const auto& md = ctx.client_metadata();
  auto it = md.find("authorization");
  return it == md.end() ? "" : std::string(it->second.data(), it->second.size());
}

// The standard health check (grpc.health.v1), answered here rather than by gRPC's default
// service, which reads a request of up to the message limit (9 MiB) from anyone.
constexpr std::string_view kHealthCheck = "/grpc.health.v1.Health/Check";

constexpr size_t kMethodCount = 7;
constexpr size_t kCodeCount = 17;

}  // namespace

struct ChunkServiceImpl::Metrics {
  explicit Metrics(metrics::Registry& r)
      : registry(r),
        received(r.GetCounter("mosaic_node_received_bytes_total", "Chunk bytes received.")),
        sent(r.GetCounter("mosaic_node_sent_bytes_total", "Chunk bytes sent.")) {}

  // The request counter of (method, code), made on first use: after that a call reads one
  // atomic pointer instead of looking the counter up under the registry's mutex.
  metrics::Counter& Requests(size_t method, absl::StatusCode code) {
    size_t c = static_cast<size_t>(code) < kCodeCount ? static_cast<size_t>(code) : 2;
    std::atomic<metrics::Counter*>& slot = requests[method][c];
    metrics::Counter* counter = slot.load(std::memory_order_acquire);
    if (counter == nullptr) {
      counter = &registry.GetCounter(
          "mosaic_node_requests_total", "Requests by method and status code.",
          {{"method", names[method]}, {"code", CodeName(static_cast<absl::StatusCode>(c))}});
      slot.store(counter, std::memory_order_release);
    }
    return *counter;
  }

  metrics::Registry& registry;
  std::array<const char*, kMethodCount> names{};
  std::array<metrics::Histogram*, kMethodCount> latency{};  // by method index
  std::array<std::array<std::atomic<metrics::Counter*>, kCodeCount>, kMethodCount> requests{};
  metrics::Counter& received;
  metrics::Counter& sent;
};

struct ChunkServiceImpl::Method {
  size_t index = 0;  // in Metrics' tables
  // A bytes field of the request read into Call::payload() instead of the message (0: none).
  uint32_t payload_field = 0;
  bool fenced = false;  // a write or delete: admitted by the caller's generation
  std::function<std::unique_ptr<google::protobuf::Message>()> new_request;
  std::function<std::unique_ptr<google::protobuf::Message>()> new_response;
  std::function<void(Call&, const TenantConfig&)> run;
};

// The reactor of one call. It authenticates from the metadata before it asks gRPC for the
// request, so a call without a valid token never has its body read. It deletes itself
// when gRPC reports the call done, which is after Reply.
class ChunkServiceImpl::Call final : public grpc::ServerGenericBidiReactor {
 public:
  Call(ChunkServiceImpl& service, grpc::GenericCallbackServerContext* ctx)
      : metrics_(*service.handles_), start_(std::chrono::steady_clock::now()) {
    if (ctx->method() == kHealthCheck) {
      AnswerHealth();
      return;
    }
    auto method = service.methods_.find(ctx->method());
    if (method == service.methods_.end()) {
      Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "unknown method " + ctx->method()));
      return;
    }
    method_ = &method->second;
    auto tenant = service.tenants_.Authenticate(AuthorizationOf(*ctx));
    if (!tenant.ok()) {
      Reply(tenant.status());
      return;
    }
    tenant_ = *tenant;
    if (method_->fenced && service.fences_ != nullptr) {
      absl::Status admitted = Admit(*service.fences_, *ctx);
      if (!admitted.ok()) {
        Reply(admitted);
        return;
      }
    }
    request_ = method_->new_request();
    response_ = method_->new_response();
    StartRead(&request_buffer_);
  }

  // The fence's word on this call's generation (its "mosaic-generation" metadata).
  absl::Status Admit(FenceStore& fences, const grpc::CallbackServerContext& ctx) {
    uint64_t generation = 0;
    auto it = ctx.client_metadata().find("mosaic-generation");
    if (it != ctx.client_metadata().end()) {
      std::string_view text(it->second.data(), it->second.size());
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), generation);
      if (ec != std::errc() || end != text.data() + text.size()) {
        return absl::InvalidArgumentError("mosaic-generation is not a number");
      }
    }
    return fences.Admit(tenant_->name, generation);
  }

  void OnReadDone(bool ok) override {
    if (!ok) return Reply(absl::InvalidArgumentError("the call carried no request"));
    if (method_->payload_field != 0) {
      absl::Status parsed =
          ParseTakingBytes(request_buffer_, method_->payload_field, *request_, payload_,
                           /*headroom=*/kRecordHeaderSize);
      if (!parsed.ok()) return Reply(parsed);
    } else {
      grpc::Status parsed = grpc::SerializationTraits<google::protobuf::Message>::Deserialize(
          &request_buffer_, request_.get());
      if (!parsed.ok()) {
        return Reply(absl::InvalidArgumentError("request: " + parsed.error_message()));
      }
    }
    method_->run(*this, *tenant_);
  }

  void OnDone() override {
    BufferPool::Global().Give(std::move(payload_));
    delete this;
  }

  // The request's bytes field named by its method's payload_field. It is read after room for
  // a record header, so that the store can write the record around it (record_space).
  ConstByteSpan payload() const {
    return payload_.size() > kRecordHeaderSize ? payload_.span().subspan(kRecordHeaderSize)
                                               : ConstByteSpan();
  }
  // The payload's whole buffer: the header's room, the payload, then at least its padding
  // (a pool buffer's capacity is a multiple of 4096), as SegmentStore::PutInPlace takes it.
  ByteSpan record_space() { return {payload_.data(), payload_.capacity()}; }

  template <typename Request>
  const Request& request() const {
    return static_cast<const Request&>(*request_);
  }
  template <typename Response>
  Response& response() {
    return static_cast<Response&>(*response_);
  }

  // Counts the call by method and code, records its latency, and finishes it with the
  // response when `s` is OK. Call exactly once (this or ReplyWith).
  void Reply(const absl::Status& s, uint64_t bytes_in = 0, uint64_t bytes_out = 0) {
    Count(s, bytes_in, bytes_out);
    if (!s.ok()) return Finish(ToGrpc(s));
    bool own = false;
    grpc::Status serialized = grpc::SerializationTraits<google::protobuf::Message>::Serialize(
        *response_, &response_buffer_, &own);
    if (!serialized.ok()) return Finish(serialized);
    StartWriteAndFinish(&response_buffer_, grpc::WriteOptions(), grpc::Status::OK);
  }
  // Like Reply for OK, with the response already serialized.
  void ReplyWith(grpc::ByteBuffer response, uint64_t bytes_out) {
    Count(absl::OkStatus(), 0, bytes_out);
    response_buffer_ = std::move(response);
    StartWriteAndFinish(&response_buffer_, grpc::WriteOptions(), grpc::Status::OK);
  }

 private:
  // SERVING, without reading the request: it only names a service, and the node has one
  // state for all; unread, a client's message costs at most its stream's initial flow-control
  // window (64 KiB, node_server.cc). Needs no token, as monitoring calls it.
  void AnswerHealth() {
    static const std::string kServing("\x08\x01", 2);  // HealthCheckResponse{status: SERVING}
    grpc::Slice slice(kServing);
    response_buffer_ = grpc::ByteBuffer(&slice, 1);
    StartWriteAndFinish(&response_buffer_, grpc::WriteOptions(), grpc::Status::OK);
  }

  Metrics& metrics_;
  std::chrono::steady_clock::time_point start_;
  const Method* method_ = nullptr;
  const TenantConfig* tenant_ = nullptr;
  std::unique_ptr<google::protobuf::Message> request_;
  std::unique_ptr<google::protobuf::Message> response_;
  grpc::ByteBuffer request_buffer_;
  grpc::ByteBuffer response_buffer_;
  AlignedBuffer payload_;  // from BufferPool::Global()

  void Count(const absl::Status& s, uint64_t bytes_in, uint64_t bytes_out) {
    metrics_.Requests(method_->index, s.code()).Inc();
    metrics_.latency[method_->index]->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
    if (bytes_in > 0) metrics_.received.Inc(bytes_in);
    if (bytes_out > 0) metrics_.sent.Inc(bytes_out);
  }
};

ChunkServiceImpl::ChunkServiceImpl(SegmentStore& store, const TenantRegistry& tenants,
                                   io::FileSystem& fs, metrics::Registry& metrics,
                                   std::string node_id, std::string data_dir, FenceStore* fences)
    : store_(store),
      tenants_(tenants),
      fs_(fs),
      handles_(std::make_unique<Metrics>(metrics)),
      node_id_(std::move(node_id)),
      data_dir_(std::move(data_dir)),
      fences_(fences) {
  AddMethod("PutChunk", &ChunkServiceImpl::PutChunk, /*payload_field=*/2);  // data
  AddMethod("GetChunk", &ChunkServiceImpl::GetChunk);
  AddMethod("DeleteChunk", &ChunkServiceImpl::DeleteChunk);
  AddMethod("StatChunk", &ChunkServiceImpl::StatChunk);
  AddMethod("ListChunks", &ChunkServiceImpl::ListChunks);
  AddMethod("GetNodeInfo", &ChunkServiceImpl::GetNodeInfo);
  AddMethod("FenceTenant", &ChunkServiceImpl::FenceTenant);
  for (const char* fenced : {"PutChunk", "DeleteChunk"}) {
    methods_.at("/" + std::string(v1::ChunkService::service_full_name()) + "/" + fenced).fenced =
        true;
  }
}

ChunkServiceImpl::~ChunkServiceImpl() = default;

template <typename Request, typename Response>
void ChunkServiceImpl::AddMethod(const char* name,
                                 void (ChunkServiceImpl::*handler)(Call&, const TenantConfig&,
                                                                   const Request&, Response&),
                                 uint32_t payload_field) {
  size_t index = methods_.size();
  handles_->names[index] = name;
  handles_->latency[index] = &handles_->registry.GetHistogram(
      "mosaic_node_request_seconds", "Request latency by method.", {{"method", name}});
  Method m;
  m.index = index;
  m.payload_field = payload_field;
  m.new_request = [] { return std::make_unique<Request>(); };
  m.new_response = [] { return std::make_unique<Response>(); };
  m.run = [this, handler](Call& call, const TenantConfig& tenant) {
    (this->*handler)(call, tenant, call.request<Request>(), call.response<Response>());
  };
  std::string path =
      "/" + std::string(v1::ChunkService::service_full_name()) + "/" + std::string(name);
  methods_.emplace(std::move(path), std::move(m));
}

grpc::ServerGenericBidiReactor* ChunkServiceImpl::CreateReactor(
    grpc::GenericCallbackServerContext* ctx) {
  return new Call(*this, ctx);
}

void ChunkServiceImpl::PutChunk(Call& call, const TenantConfig& tenant,
                                const v1::PutChunkRequest& req, v1::PutChunkResponse& resp) {
  ConstByteSpan data = call.payload();  // req.data() stays empty (Method::payload_field)
  std::optional<uint32_t> crc;
  if (req.has_crc32c()) {
    crc = Crc32c(data);
    if (*crc != req.crc32c()) {
      return call.Reply(
          absl::DataLossError("chunk data does not match its crc32c: corrupted in transit"));
    }
  }
  store_.PutInPlace(
      tenant.name, req.chunk_id(), call.record_space(), data.size(),
      TenantLimits{tenant.quota_bytes, tenant.max_chunks},
      [&call, &resp, size = data.size()](absl::StatusOr<PutResult> r) {
        if (r.ok()) {
          resp.set_created(r->created);
          resp.set_crc32c(r->crc);
        }
        call.Reply(r.status(), r.ok() ? size : 0);
      },
      crc);
}

void ChunkServiceImpl::GetChunk(Call& call, const TenantConfig& tenant,
                                const v1::GetChunkRequest& req, v1::GetChunkResponse&) {
  store_.Get(tenant.name, req.chunk_id(), req.offset(), req.length(),
             [&call](absl::StatusOr<GetResult> r) {
               if (!r.ok()) return call.Reply(r.status());
               uint64_t sent = r->data_length;
               call.ReplyWith(GetChunkResponseBuffer(std::move(r->record), r->data_offset,
                                                     r->data_length, r->chunk_length, r->chunk_crc),
                              sent);
             });
}

void ChunkServiceImpl::DeleteChunk(Call& call, const TenantConfig& tenant,
                                   const v1::DeleteChunkRequest& req,
                                   v1::DeleteChunkResponse& resp) {
  store_.Delete(tenant.name, req.chunk_id(), [&call, &resp](absl::StatusOr<bool> r) {
    if (r.ok()) resp.set_existed(*r);
    call.Reply(r.status());
  });
}

void ChunkServiceImpl::StatChunk(Call& call, const TenantConfig& tenant,
                                 const v1::StatChunkRequest& req, v1::ChunkInfo& resp) {
  store_.Stat(tenant.name, req.chunk_id(),
              [&call, &resp, id = req.chunk_id()](absl::StatusOr<ChunkLocation> r) {
                if (r.ok()) {
                  resp.set_chunk_id(id);
                  resp.set_length(r->length);
                  resp.set_crc32c(r->crc);
                }
                call.Reply(r.status());
              });
}

void ChunkServiceImpl::ListChunks(Call& call, const TenantConfig& tenant,
                                  const v1::ListChunksRequest& req, v1::ListChunksResponse& resp) {
  uint32_t page = req.page_size() == 0 ? kDefaultPageSize : req.page_size();
  if (page > kMaxPageSize) {
    return call.Reply(absl::InvalidArgumentError("page_size must be at most 10000"));
  }
  // One more than the page tells whether another page follows.
  store_.List(tenant.name, req.page_token(), page + 1,
              [&call, &resp, page](absl::StatusOr<std::vector<ChunkEntry>> r) {
                if (r.ok()) {
                  for (size_t i = 0; i < r->size() && i < page; ++i) {
                    v1::ChunkInfo* info = resp.add_chunks();
                    info->set_chunk_id((*r)[i].chunk_id);
                    info->set_length((*r)[i].location.length);
                    info->set_crc32c((*r)[i].location.crc);
                  }
                  if (r->size() > page) resp.set_next_page_token((*r)[page - 1].chunk_id);
                }
                call.Reply(r.status());
              });
}

void ChunkServiceImpl::GetNodeInfo(Call& call, const TenantConfig& tenant,
                                   const v1::GetNodeInfoRequest&, v1::NodeInfo& resp) {
  resp.set_version(kVersion);
  resp.set_node_id(node_id_);
  if (auto space = fs_.GetSpace(data_dir_); space.ok()) {
    resp.set_capacity_bytes(space->capacity_bytes);
    resp.set_free_bytes(space->free_bytes);
  }
  resp.set_used_bytes(store_.TotalUsedBytes());
  TenantUsage usage = store_.Usage(tenant.name);
  v1::TenantUsage* t = resp.mutable_tenant();
  t->set_name(tenant.name);
  t->set_used_bytes(usage.bytes);
  t->set_chunk_count(usage.chunks);
  t->set_quota_bytes(tenant.quota_bytes);
  ScrubStats scrub = store_.Scrub();
  v1::ScrubReport* report = resp.mutable_scrub();
  report->set_passes(scrub.passes);
  report->set_last_pass_finished_unix(scrub.last_pass_finished_unix);
  report->set_chunks_checked(scrub.chunks_checked);
  for (const std::string& id : store_.CorruptChunks(tenant.name)) {
    report->add_corrupt_chunk_ids(id);
  }
  call.Reply(absl::OkStatus());
}

}  // namespace mosaic::node

namespace mosaic::node {

void ChunkServiceImpl::FenceTenant(Call& call, const TenantConfig& tenant,
                                   const v1::FenceTenantRequest& req,
                                   v1::FenceTenantResponse& resp) {
  if (fences_ == nullptr) return call.Reply(absl::UnimplementedError("this node has no fences"));
  uint64_t before = fences_->Highest(tenant.name);
  auto highest = fences_->Raise(tenant.name, req.generation());
  if (!highest.ok()) return call.Reply(highest.status());
  if (*highest > before) {
    spdlog::info("tenant {}: gateway generation {} took over", tenant.name, req.generation());
  }
  resp.set_generation(*highest);
  call.Reply(absl::OkStatus());
}

}  // namespace mosaic::node
