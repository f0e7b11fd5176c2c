#include "server/gateway/key_rotation.h"

#include <spdlog/spdlog.h>

#include <optional>
#include <utility>

#include "client/crypto/metadata_seal.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "common/status.h"
#include "common/units.h"
#include "server/gateway/backup/root_io.h"
#include "server/gateway/jobs/metadata_backup.h"
#include "server/gateway/meta/manifest_codec.h"
#include "server/gateway/node_states.h"

namespace mosaic::gateway {
namespace {

std::string IdOf(const client::KeyRing& ring) { return std::string(AsStringView(ring.key_id())); }
std::string Hex(std::string_view raw_id) { return HexEncode(AsBytes(raw_id)); }

absl::Status Stopped() { return absl::AbortedError("rotation stopped after a committed step"); }

// Whether the store's first access key opens with `ring` (a store without a key state row:
// new, or from before rotation existed). OK when there are no access keys.
absl::Status CheckOpens(const MetaStore& meta, const client::KeyRing& ring) {
  ASSIGN_OR_RETURN(auto keys, meta.ListKeys());
  if (keys.empty()) return absl::OkStatus();
  if (client::OpenMetadata(ring, keys.front().sealed_secret(), keys.front().id()).ok()) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(
      "this gateway's metadata was not written under master key " + Hex(IdOf(ring)) +
      " (its access keys do not open with it): is key_file the key this gateway was set up with?");
}

// The data key of `m` wrapped under `to`, or nullopt if it is already.
absl::StatusOr<std::optional<std::string>> Rewrap(const client::KeyRing& from,
                                                  const client::KeyRing& to,
                                                  const v1::Manifest& m) {
  ASSIGN_OR_RETURN(client::ObjectManifest manifest, FromProto(m));
  if (to.UnwrapDataKey(AsBytes(manifest.wrapped_key), manifest.object_id).ok()) {
    return std::nullopt;
  }
  auto wrapped = client::RewrapDataKey(from, to, AsBytes(manifest.wrapped_key), manifest.object_id);
  if (!wrapped.ok()) return Annotate(wrapped.status(), "piece " + Hex(m.object_id()));
  return *std::move(wrapped);
}

// `sealed` (bound to `aad`) under `to`, or nullopt if it opens with `to` already.
absl::StatusOr<std::optional<std::string>> Reseal(const client::KeyRing& from,
                                                  const client::KeyRing& to,
                                                  const std::string& sealed,
                                                  const std::string& aad) {
  if (client::OpenMetadata(to, sealed, aad).ok()) return std::nullopt;
  auto plain = client::OpenMetadata(from, sealed, aad);
  if (!plain.ok()) return Annotate(plain.status(), aad);
  return client::SealMetadata(to, *plain, aad);
}

// The key state to rotate from `old_ring` to `new_ring` (a new rotation is recorded; an
// unfinished one is continued), with both rings given their chunk-id key.
absl::StatusOr<v1::KeyStateRecord> Begin(MetaStore& meta, client::KeyRing& old_ring,
                                         client::KeyRing& new_ring, RotationReport& report) {
  const std::string old_id = IdOf(old_ring), new_id = IdOf(new_ring);
  if (old_id == new_id) {
    return absl::InvalidArgumentError("the new key file holds the current master key " +
                                      Hex(old_id) + ": make a new one with `mosaic keygen`");
  }
  ASSIGN_OR_RETURN(std::optional<v1::KeyStateRecord> stored, meta.GetKeyState());
  v1::KeyStateRecord state;
  if (stored) {
    state = *std::move(stored);
  } else {
    RETURN_IF_ERROR(CheckOpens(meta, old_ring));
    state.set_key_id(old_id);
  }
  if (state.key_id() == new_id) {  // rotated already; maybe its clean-up is left
    report.already_done = !state.cleanup_pending();
    if (!state.sealed_chunk_id_key().empty()) {
      RETURN_IF_ERROR(new_ring.InheritChunkIdKey(state.sealed_chunk_id_key()));
    }
    return state;
  }
  if (state.key_id() != old_id) {
    return absl::FailedPreconditionError(
        "this gateway's metadata is under master key " + Hex(state.key_id()) +
        ", but the config's key_file holds " + Hex(old_id) + " and --new holds " + Hex(new_id));
  }
  if (!state.sealed_chunk_id_key().empty()) {
    RETURN_IF_ERROR(old_ring.InheritChunkIdKey(state.sealed_chunk_id_key()));
  }
  if (!state.rotating_to().empty() && state.rotating_to() != new_id) {
    return absl::FailedPreconditionError("an unfinished rotation goes to master key " +
                                         Hex(state.rotating_to()) + ", not " + Hex(new_id) +
                                         ": finish it with that key file as --new");
  }
  report.resumed = !state.rotating_to().empty();
  if (!report.resumed) {
    state.set_rotating_to(new_id);
    state.set_rotating_sealed_chunk_id_key(old_ring.SealChunkIdKeyFor(new_ring));
    state.clear_pieces_done_through();
    RETURN_IF_ERROR(meta.PutKeyState(state));
  }
  RETURN_IF_ERROR(new_ring.InheritChunkIdKey(state.rotating_sealed_chunk_id_key()));
  return state;
}

absl::Status RewrapPieces(MetaStore& meta, const client::KeyRing& from, const client::KeyRing& to,
                          v1::KeyStateRecord& state, size_t batch, RotationReport& report,
                          const RotationProgress& progress) {
  while (true) {
    ASSIGN_OR_RETURN(auto page, meta.ListPieces(state.pieces_done_through(), batch));
    if (page.empty()) return absl::OkStatus();
    std::vector<std::string> ids;
    for (const auto& entry : page) ids.push_back(entry.first);
    ASSIGN_OR_RETURN(uint64_t changed, meta.RewrapPieces(ids, [&](const v1::Manifest& m) {
      return Rewrap(from, to, m);
    }));
    report.pieces_seen += page.size();
    report.pieces_rewrapped += changed;
    state.set_pieces_done_through(page.back().first);
    RETURN_IF_ERROR(meta.PutKeyState(state));
    if (!progress("data keys: " + std::to_string(report.pieces_seen) + " pieces done (" +
                  std::to_string(report.pieces_rewrapped) + " rewrapped by this run)")) {
      return Stopped();
    }
    if (page.size() < batch) return absl::OkStatus();
  }
}

// Access-key secrets and runtime-added nodes' tokens.
absl::Status ResealValues(MetaStore& meta, const client::KeyRing& from, const client::KeyRing& to,
                          RotationReport& report) {
  ASSIGN_OR_RETURN(auto keys, meta.ListKeys());
  for (v1::AccessKeyRecord& key : keys) {
    ASSIGN_OR_RETURN(auto sealed, Reseal(from, to, key.sealed_secret(), key.id()));
    if (!sealed) continue;
    key.set_sealed_secret(*sealed);
    RETURN_IF_ERROR(meta.PutKey(key));
    ++report.access_keys;
  }
  ASSIGN_OR_RETURN(auto states, meta.NodeStates());
  for (auto& [id, record] : states) {
    if (record.endpoint().sealed_token().empty()) continue;
    ASSIGN_OR_RETURN(auto sealed,
                     Reseal(from, to, record.endpoint().sealed_token(), NodeTokenAad(id)));
    if (!sealed) continue;
    record.mutable_endpoint()->set_sealed_token(*sealed);
    RETURN_IF_ERROR(meta.SetNodeState(id, record));
    ++report.node_tokens;
  }
  return absl::OkStatus();
}

// The backup's next cycle takes a snapshot (of what is under the new key now).
absl::Status ForceSnapshot(MetaStore& meta) {
  ASSIGN_OR_RETURN(auto backup, meta.GetBackupState());
  if (!backup || backup->db_identity().empty()) return absl::OkStatus();
  backup->clear_db_identity();
  return meta.PutBackupState(*backup);
}

// Two backups under the new key (the second prunes those under the old one), then the old
// key's roots deleted from every node.
absl::Status Cleanup(MetaStore& meta, const client::KeyRing& old_ring,
                     const client::KeyRing& new_ring, std::vector<client::NodeEndpoint> nodes,
                     const client::PipelineOptions& options, RotationReport& report,
                     const RotationProgress& progress) {
  ASSIGN_OR_RETURN(auto added, NodeStates::AddedEndpoints(meta, new_ring));
  for (auto& e : added) {
    bool known = false;
    for (const auto& n : nodes) known = known || n.spec.id == e.spec.id;
    if (!known) nodes.push_back(std::move(e));
  }
  client::NodePool pool(std::move(nodes), client::RpcOptions());
  pool.CheckAll();
  client::Pipeline pipeline(new_ring, pool, options);
  NodeStates states(meta, pipeline);
  RETURN_IF_ERROR(states.Start());  // no backup shard on a draining or removed node
  metrics::Registry registry;
  MetadataBackup backup(meta, pipeline, registry,
                        MetadataBackup::Options{.interval = std::chrono::milliseconds(0)});
  for (int round = 1; round <= 2; ++round) {
    RETURN_IF_ERROR(ForceSnapshot(meta));
    RETURN_IF_ERROR(backup.RunOnce());
    if (!progress("metadata backup under the new key: generation " +
                  std::to_string(backup.progress().generation) + " (" + std::to_string(round) +
                  " of 2)")) {
      return Stopped();
    }
  }
  RootWriteReport deleted = DeleteRootsEverywhere(pool, old_ring);
  report.root_nodes = deleted.written;
  report.root_failures = deleted.failures;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RotationReport> RotateMasterKey(MetaStore& meta, client::KeyRing& old_ring,
                                               client::KeyRing& new_ring,
                                               const std::vector<client::NodeEndpoint>& nodes,
                                               const client::PipelineOptions& pipeline,
                                               const RotationProgress& progress,
                                               RotationOptions options) {
  RotationReport report;
  ASSIGN_OR_RETURN(v1::KeyStateRecord state, Begin(meta, old_ring, new_ring, report));
  if (report.already_done) return report;
  const std::string old_id = IdOf(old_ring), new_id = IdOf(new_ring);
  if (state.key_id() == old_id) {
    if (!progress((report.resumed ? "continuing" : "starting") +
                  std::string(" the rotation from master key ") + Hex(old_id) + " to " +
                  Hex(new_id))) {
      return Stopped();
    }
    RETURN_IF_ERROR(RewrapPieces(meta, old_ring, new_ring, state,
                                 std::max<size_t>(1, options.batch), report, progress));
    RETURN_IF_ERROR(ResealValues(meta, old_ring, new_ring, report));
    if (!progress("sealed values: " + std::to_string(report.access_keys) + " access keys, " +
                  std::to_string(report.node_tokens) + " node tokens re-sealed")) {
      return Stopped();
    }
    // From here on the metadata is under the new key; a gateway started with it before the
    // clean-up ends takes the new snapshot itself.
    RETURN_IF_ERROR(ForceSnapshot(meta));
    state.set_key_id(new_id);
    state.set_sealed_chunk_id_key(new_ring.SealedChunkIdKey());
    state.add_retired_key_ids(old_id);
    state.clear_rotating_to();
    state.clear_rotating_sealed_chunk_id_key();
    state.clear_pieces_done_through();
    state.set_rotated_ms(UnixNowMs());
    state.set_cleanup_pending(true);
    RETURN_IF_ERROR(meta.PutKeyState(state));
    if (!progress("the metadata is under master key " + Hex(new_id) + " now")) return Stopped();
  }
  RETURN_IF_ERROR(Cleanup(meta, old_ring, new_ring, nodes, pipeline, report, progress));
  state.set_cleanup_pending(false);
  RETURN_IF_ERROR(meta.PutKeyState(state));
  progress("old master key's backup roots deleted on " + std::to_string(report.root_nodes) +
           " nodes" +
           (report.root_failures.empty() ? "" : "; not on: " + report.root_failures.front()));
  return report;
}

absl::Status ApplyKeyState(MetaStore& meta, client::KeyRing& ring) {
  ASSIGN_OR_RETURN(std::optional<v1::KeyStateRecord> state, meta.GetKeyState());
  const std::string id = IdOf(ring);
  if (!state) {
    RETURN_IF_ERROR(CheckOpens(meta, ring));
    v1::KeyStateRecord first;
    first.set_key_id(id);
    return meta.PutKeyState(first);
  }
  if (!state->rotating_to().empty()) {
    return absl::FailedPreconditionError(
        "a master-key rotation from key " + Hex(state->key_id()) + " to key " +
        Hex(state->rotating_to()) +
        " is unfinished: run `mosaic key rotate-master --config FILE --new NEW_KEY_FILE` "
        "again with the same two key files, then start the gateway with the new one");
  }
  if (state->key_id() != id) {
    for (const std::string& retired : state->retired_key_ids()) {
      if (retired != id) continue;
      return absl::FailedPreconditionError(
          "master key " + Hex(id) + " was retired: this gateway's metadata was rotated to key " +
          Hex(state->key_id()) + " on " + FormatUtcMs(state->rotated_ms()) +
          "; set key_file to the new key file");
    }
    return absl::FailedPreconditionError("this gateway's metadata is under master key " +
                                         Hex(state->key_id()) + ", not " + Hex(id) +
                                         " (the key file given)");
  }
  if (state->cleanup_pending()) {
    spdlog::warn(
        "the master-key rotation's clean-up is unfinished: the old key's backup roots may "
        "still be on the nodes; run `mosaic key rotate-master` again to finish it");
  }
  if (state->sealed_chunk_id_key().empty()) return absl::OkStatus();
  return ring.InheritChunkIdKey(state->sealed_chunk_id_key());
}

}  // namespace mosaic::gateway
