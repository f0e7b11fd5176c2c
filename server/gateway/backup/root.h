#pragma once
// The backup root record (docs/architecture.md, "Metadata backup"): a small BackupRoot
// naming the latest complete backup, sealed with the metadata subkey and stored whole on
// every node at one of two chunk ids derived from the master key and the node's id. Nothing
// but the key and the node list is needed to find it; a node sees an opaque chunk, and no
// two nodes hold it under the same id (a shared id would link a group's tenants across
// providers).
//
// Two slots, alternating by generation: nodes refuse to overwrite a chunk id with other
// bytes, so the writer deletes the older slot and puts the new root there, while the other
// slot keeps the previous root readable. A reader takes the highest generation that opens.
// All functions are pure and thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "client/crypto/key_ring.h"
#include "proto/mosaic/v1/backup.pb.h"

namespace mosaic::gateway {

inline constexpr int kRootSlots = 2;

// The slot generation `generation` is written to.
int RootSlotOf(uint64_t generation);

// The raw chunk id of root slot `slot` (0 or 1, CHECKed) on node `node_id` (its id in the
// node list): KeyRing::ComputeOwnChunkId (the master key's own chunk-id subkey even after a
// rotation: the root is found with the key file alone) of a reserved object id, the first 16 bytes
// of SHA-256("mosaic root slot\0" + node_id), with stripe = slot and shard 0, so the same keyed
// BLAKE2b as every chunk id. Random object ids collide with it with probability 2^-128.
std::string RootSlotChunkId(const client::KeyRing& ring, int slot, std::string_view node_id);

// The bytes stored in slot `slot`: the root sealed under the metadata subkey, bound to
// the slot (a root cannot be moved to the other slot).
std::string SealRoot(const client::KeyRing& ring, const v1::BackupRoot& root, int slot);

// Opens what slot `slot` of some node held. DATA_LOSS if it does not open under this key
// (another key, altered bytes, the other slot's bytes) or does not parse; INVALID_ARGUMENT
// if it is not a sealed value at all.
[[nodiscard]] absl::StatusOr<v1::BackupRoot> OpenRoot(const client::KeyRing& ring,
                                                      std::string_view sealed, int slot);

// The root with the highest generation among `roots` (nullopt if empty). Ties (the same
// root read from several nodes) keep the first.
std::optional<v1::BackupRoot> NewestRoot(const std::vector<v1::BackupRoot>& roots);

}  // namespace mosaic::gateway
