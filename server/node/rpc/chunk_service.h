#pragma once
// The gRPC ChunkService (proto/mosaic/v1/node.proto) on the callback API. Handlers never
// block: they authenticate, validate, hand the call to the SegmentStore and return; the
// store's threads finish the call from their completions. Proto types stop here.

#include <memory>
#include <string>

#include "common/metrics.h"
#include "proto/mosaic/v1/node.grpc.pb.h"
#include "server/node/io/file.h"
#include "server/node/store/segment_store.h"
#include "server/node/tenants.h"

namespace mosaic::node {

class ChunkServiceImpl final : public mosaic::v1::ChunkService::CallbackService {
 public:
  // All references must outlive the service.
  ChunkServiceImpl(SegmentStore& store, const TenantRegistry& tenants, io::FileSystem& fs,
                   metrics::Registry& metrics, std::string node_id, std::string data_dir);

  grpc::ServerUnaryReactor* PutChunk(grpc::CallbackServerContext* ctx,
                                     const v1::PutChunkRequest* req,
                                     v1::PutChunkResponse* resp) override;
  grpc::ServerUnaryReactor* GetChunk(grpc::CallbackServerContext* ctx,
                                     const v1::GetChunkRequest* req,
                                     v1::GetChunkResponse* resp) override;
  grpc::ServerUnaryReactor* DeleteChunk(grpc::CallbackServerContext* ctx,
                                        const v1::DeleteChunkRequest* req,
                                        v1::DeleteChunkResponse* resp) override;
  grpc::ServerUnaryReactor* StatChunk(grpc::CallbackServerContext* ctx,
                                      const v1::StatChunkRequest* req,
                                      v1::ChunkInfo* resp) override;
  grpc::ServerUnaryReactor* ListChunks(grpc::CallbackServerContext* ctx,
                                       const v1::ListChunksRequest* req,
                                       v1::ListChunksResponse* resp) override;
  grpc::ServerUnaryReactor* GetNodeInfo(grpc::CallbackServerContext* ctx,
                                        const v1::GetNodeInfoRequest* req,
                                        v1::NodeInfo* resp) override;

  struct Call;     // one RPC in flight: its reactor, method and start time
  struct Metrics;  // handles made once, so that a call does not look them up
  ~ChunkServiceImpl() override;

 private:
  absl::StatusOr<const TenantConfig*> Authenticate(grpc::CallbackServerContext* ctx) const;

  SegmentStore& store_;
  const TenantRegistry& tenants_;
  io::FileSystem& fs_;
  std::unique_ptr<Metrics> handles_;
  std::string node_id_;
  std::string data_dir_;
};

}  // namespace mosaic::node
