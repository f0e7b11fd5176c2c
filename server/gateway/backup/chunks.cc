#include "server/gateway/backup/chunks.h"

#include <cstring>

#include "client/pipeline/pipeline.h"

namespace mosaic::gateway {

void AddManifestChunks(const client::KeyRing& ring, const v1::Manifest& manifest, NodeChunks& out) {
  client::ObjectId object{};
  if (manifest.object_id().size() != object.size()) return;
  std::memcpy(object.data(), manifest.object_id().data(), object.size());
  for (int s = 0; s < manifest.stripes_size(); ++s) {
    const v1::StripePlacement& stripe = manifest.stripes(s);
    for (int i = 0; i < stripe.nodes_size(); ++i) {
      if (stripe.nodes(i).empty()) continue;
      out[stripe.nodes(i)].insert(
          client::ChunkIdString(ring.ComputeChunkId(object, uint64_t(s), i)));
    }
  }
}

void AddBackupChunks(const client::KeyRing& ring, const v1::BackupState& state, NodeChunks& out) {
  for (const v1::BackupRoot* root : {&state.current(), &state.previous()}) {
    AddManifestChunks(ring, root->snapshot().manifest(), out);
    for (const auto& inc : root->increments()) AddManifestChunks(ring, inc.manifest(), out);
  }
}

}  // namespace mosaic::gateway
