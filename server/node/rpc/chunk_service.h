#pragma once
// The gRPC ChunkService (proto/mosaic/v1/node.proto) on the callback API. Handlers never
// block: they authenticate, validate, hand the call to the SegmentStore and return; the
// store's threads finish the call from their completions. Proto types stop here.
//
// The service is registered as gRPC's generic callback service, not through the generated
// base class: gRPC reads the whole request of a registered unary method (up to the message
// limit, 9 MiB) before any handler runs, so tokenless clients could make the node hold
// gigabytes (issue 18, finding 4). Here a call's metadata is checked first, and its request
// message is read only once the tenant token is valid; other calls are finished at once with
// UNAUTHENTICATED (or UNIMPLEMENTED for an unknown method) without reading their body.
// The standard health check (/grpc.health.v1.Health/Check, tokenless) is answered here too,
// SERVING, without reading its request; Health/Watch is UNIMPLEMENTED. No other service is
// registered on the node, so no call's body is read before its token is checked.

#include <grpcpp/generic/async_generic_service.h>

#include <map>
#include <memory>
#include <string>

#include "common/metrics.h"
#include "proto/mosaic/v1/node.grpc.pb.h"
#include "server/node/fences.h"
#include "server/node/io/file.h"
#include "server/node/store/segment_store.h"
#include "server/node/tenants.h"

namespace mosaic::node {

class ChunkServiceImpl final : public grpc::CallbackGenericService {
 public:
  // All references must outlive the service. With `fences` (server/node/fences.h), PutChunk
  // and DeleteChunk calls are admitted by the generation in their "mosaic-generation"
  // metadata (none: 0) before their request is read; without, nothing is fenced.
  ChunkServiceImpl(SegmentStore& store, const TenantRegistry& tenants, io::FileSystem& fs,
                   metrics::Registry& metrics, std::string node_id, std::string data_dir,
                   FenceStore* fences = nullptr);
  ~ChunkServiceImpl() override;

  // Called by gRPC for every call that no registered service takes (all ChunkService calls).
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override;

  class Call;      // one RPC in flight: its reactor, messages, method and start time
  struct Method;   // a ChunkService method: its name, messages and handler
  struct Metrics;  // handles made once, so that a call does not look them up

 private:
  void PutChunk(Call& call, const TenantConfig& tenant, const v1::PutChunkRequest& req,
                v1::PutChunkResponse& resp);
  void GetChunk(Call& call, const TenantConfig& tenant, const v1::GetChunkRequest& req,
                v1::GetChunkResponse& resp);
  void DeleteChunk(Call& call, const TenantConfig& tenant, const v1::DeleteChunkRequest& req,
                   v1::DeleteChunkResponse& resp);
  void StatChunk(Call& call, const TenantConfig& tenant, const v1::StatChunkRequest& req,
                 v1::ChunkInfo& resp);
  void ListChunks(Call& call, const TenantConfig& tenant, const v1::ListChunksRequest& req,
                  v1::ListChunksResponse& resp);
  void GetNodeInfo(Call& call, const TenantConfig& tenant, const v1::GetNodeInfoRequest& req,
                   v1::NodeInfo& resp);
  void FenceTenant(Call& call, const TenantConfig& tenant, const v1::FenceTenantRequest& req,
                   v1::FenceTenantResponse& resp);

  template <typename Request, typename Response>
  void AddMethod(const char* name,
                 void (ChunkServiceImpl::*handler)(Call&, const TenantConfig&, const Request&,
                                                   Response&),
                 uint32_t payload_field = 0);

  SegmentStore& store_;
  const TenantRegistry& tenants_;
  io::FileSystem& fs_;
  std::unique_ptr<Metrics> handles_;
  std::map<std::string, Method, std::less<>> methods_;  // by path "/mosaic.v1.ChunkService/X"
  std::string node_id_;
  std::string data_dir_;
  FenceStore* fences_;
};

}  // namespace mosaic::node
