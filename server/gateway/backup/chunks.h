#pragma once
// The chunks the metadata names on each node: the shards of a manifest, and the objects of
// the metadata backup. The orphan sweep (jobs/orphan_sweeper.h) spares them; a restore
// (backup/restore.h) checks them.

#include <string>
#include <unordered_map>
#include <unordered_set>

#include "client/crypto/key_ring.h"
#include "proto/mosaic/v1/backup.pb.h"
#include "proto/mosaic/v1/meta.pb.h"

namespace mosaic::gateway {

// Node id -> chunk ids (raw) the metadata places on it.
using NodeChunks = std::unordered_map<std::string, std::unordered_set<std::string>>;

// Adds the chunks of every placed shard of `manifest` ("" nodes are skipped). Pure.
void AddManifestChunks(const client::KeyRing& ring, const v1::Manifest& manifest, NodeChunks& out);
// Adds the chunks of the metadata backup objects `state` names (current and previous
// backup). Pure.
void AddBackupChunks(const client::KeyRing& ring, const v1::BackupState& state, NodeChunks& out);

}  // namespace mosaic::gateway
