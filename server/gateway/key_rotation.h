#pragma once
// Master-key rotation (`mosaic key rotate-master`, docs/architecture.md "Master-key
// rotation"), and the check every gateway start makes that its key file holds the master key
// the metadata is under.
//
// Rotation rewraps every piece's data key and re-seals every sealed value (access-key
// secrets, runtime-added nodes' tokens) under the new key; no data is rewritten. Chunk ids
// stay the same: the new key inherits the chunk-id key (client::KeyRing::InheritChunkIdKey),
// recorded sealed under it in the key state row and in every backup root. Then a new backup
// is taken under the new key (twice, so that the backups sealed under the old one are
// pruned) and the old key's backup roots are deleted from the nodes.
//
// Every step is committed before the next, and each is idempotent (a data key already
// wrapped by the new key, a value that opens with it, are left alone), so a rotation killed
// at any point is finished by running it again with the same two key files. The key state
// row (MetaStore::GetKeyState) records where it is; a gateway refuses to start while a
// rotation is unfinished, and afterwards refuses the old key, saying which key is current.
//
// Blocks. No gateway may use the store meanwhile (RocksDB's lock refuses a second opener).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/crypto/key_ring.h"
#include "client/pipeline/pipeline.h"
#include "client/rpc/node_pool.h"
#include "server/gateway/meta/meta_store.h"

namespace mosaic::gateway {

struct RotationReport {
  bool already_done = false;  // the metadata was under the new key already, nothing to do
  bool resumed = false;       // an unfinished rotation was continued
  uint64_t pieces_seen = 0;
  uint64_t pieces_rewrapped = 0;           // (the others were rewrapped by an earlier, killed, run)
  uint64_t access_keys = 0;                // secrets re-sealed
  uint64_t node_tokens = 0;                // tokens of runtime-added nodes re-sealed
  int root_nodes = 0;                      // nodes whose old-key roots were deleted
  std::vector<std::string> root_failures;  // nodes that kept them ("node: error")
};

// Called with a line after every committed step (each batch of pieces, the sealed values,
// each backup, the old roots). Returning false stops the rotation right there with ABORTED,
// as a kill at that point would (tests).
using RotationProgress = std::function<bool(const std::string& line)>;

struct RotationOptions {
  size_t batch = 256;  // pieces rewrapped per committed step
};

// Rotates `meta` from `old_ring` to `new_ring` (both are given the inherited chunk-id key).
// `nodes` are the config's nodes (runtime-added ones are read from `meta`). INVALID_ARGUMENT
// if both key files hold one key; FAILED_PRECONDITION if the metadata is under neither
// key, or an unfinished rotation goes to a third key; UNAVAILABLE if the new backup could
// not be written (run it again); DATA_LOSS if a wrapped key or sealed value opens with
// neither key.
[[nodiscard]] absl::StatusOr<RotationReport> RotateMasterKey(
    MetaStore& meta, client::KeyRing& old_ring, client::KeyRing& new_ring,
    const std::vector<client::NodeEndpoint>& nodes, const client::PipelineOptions& pipeline,
    const RotationProgress& progress, RotationOptions options = {});

// At a gateway's start, before anything reads or writes with `ring`: checks that the
// metadata is under `ring`'s key and gives `ring` the chunk-id key it inherits, if any. A
// store without a key state row (new, or from before rotation existed) is recorded as under
// `ring` once one of its sealed values opens with it. FAILED_PRECONDITION, naming both keys
// and what to do, for another key, a retired key, or an unfinished rotation.
[[nodiscard]] absl::Status ApplyKeyState(MetaStore& meta, client::KeyRing& ring);

}  // namespace mosaic::gateway
