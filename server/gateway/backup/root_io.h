#pragma once
// Writing and finding the backup root on the nodes (root.h gives the record and its slots).
// Both talk to every node of the pool in parallel and block until each answered or timed
// out (the pool's call timeout). Thread-safe.

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/crypto/key_ring.h"
#include "client/rpc/node_pool.h"
#include "proto/mosaic/v1/backup.pb.h"

namespace mosaic::gateway {

struct RootWriteReport {
  int nodes = 0;
  int written = 0;                    // nodes that hold the new root now
  std::vector<std::string> failures;  // "node: error"
};

// Stores `root` in slot RootSlotOf(root.generation()) of every node: deletes the slot's old
// chunk, then puts the sealed root (a node refuses to overwrite a chunk with other bytes).
// The other slot, holding the previous root, is left alone.
// Nodes for which `holds(index)` is false (draining, removed) get no root: both their slots
// are deleted instead, so that a drained node ends holding nothing of ours.
RootWriteReport WriteRootEverywhere(client::NodePool& pool, const client::KeyRing& ring,
                                    const v1::BackupRoot& root,
                                    const std::function<bool(int)>& holds);

// Deletes both root slots of `ring` on every node (master-key rotation: the retired key must
// find no backup). `written` counts the nodes that confirmed both deletions (a slot already
// empty counts); `failures` names the others.
RootWriteReport DeleteRootsEverywhere(client::NodePool& pool, const client::KeyRing& ring);

struct RootSearch {
  int nodes = 0;
  int reached = 0;                    // nodes that answered at least one slot (found or NOT_FOUND)
  int unopenable = 0;                 // slots holding bytes this key does not open
  std::vector<v1::BackupRoot> roots;  // every root that opened, one per node and slot
  std::vector<std::string> failures;  // "node: error" for nodes that did not answer
};

// Reads both slots on every node and opens what they hold with `ring`.
RootSearch FindRoots(client::NodePool& pool, const client::KeyRing& ring);

}  // namespace mosaic::gateway
