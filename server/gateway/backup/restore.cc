#include "server/gateway/backup/restore.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <set>

#include "client/pipeline/object_reader.h"
#include "common/status.h"
#include "common/units.h"
#include "server/gateway/backup/chunks.h"
#include "server/gateway/backup/fencing.h"
#include "server/gateway/backup/root.h"
#include "server/gateway/backup/root_io.h"
#include "server/gateway/backup/stream.h"
#include "server/gateway/meta/manifest_codec.h"
#include "server/gateway/meta/meta_store.h"

namespace mosaic::gateway {
namespace {

constexpr size_t kRawBatchBytes = size_t{4} << 20;
constexpr size_t kPage = 1000;
constexpr size_t kMaxExamples = 10;

// Reads a whole backup object; bad shards (survived) are added to `faults`.
absl::StatusOr<std::string> ReadObject(client::Pipeline& pipeline, const v1::BackupObject& o,
                                       std::vector<std::string>& faults) {
  ASSIGN_OR_RETURN(client::ObjectManifest manifest, FromProto(o.manifest()));
  ASSIGN_OR_RETURN(auto reader, pipeline.NewReader(manifest, 0, manifest.size));
  ASSIGN_OR_RETURN(std::string bytes, reader->ReadAll());
  for (const client::BadShard& bad : reader->faults()) {
    faults.push_back("stripe " + std::to_string(bad.stripe) + " shard " +
                     std::to_string(bad.shard_index) + " on " + bad.node_id + ": " +
                     bad.status.ToString());
  }
  return bytes;
}

absl::StatusOr<uint64_t> LoadSnapshot(MetaStore& store, const std::string& bytes) {
  std::vector<std::pair<std::string, std::string>> pending;
  size_t pending_bytes = 0;
  uint64_t records = 0;
  BackupStreamVisitor visit;
  visit.pair = [&](std::string_view key, std::string_view value) -> absl::Status {
    pending.emplace_back(key, value);
    pending_bytes += key.size() + value.size();
    ++records;
    if (pending_bytes < kRawBatchBytes) return absl::OkStatus();
    RETURN_IF_ERROR(store.PutRaw(pending));
    pending.clear();
    pending_bytes = 0;
    return absl::OkStatus();
  };
  ASSIGN_OR_RETURN(BackupStreamHeader header, DecodeBackupStream(bytes, visit));
  if (header.kind != BackupKind::kSnapshot) {
    return absl::DataLossError("the backup's snapshot object is not a snapshot");
  }
  if (!pending.empty()) RETURN_IF_ERROR(store.PutRaw(pending));
  return records;
}

absl::StatusOr<uint64_t> ApplyIncrement(MetaStore& store, const std::string& bytes) {
  BackupStreamVisitor visit;
  visit.batch = [&](uint64_t, std::string_view batch) { return store.ApplyBatch(batch); };
  ASSIGN_OR_RETURN(BackupStreamHeader header, DecodeBackupStream(bytes, visit));
  if (header.kind != BackupKind::kIncrement) {
    return absl::DataLossError("a backup increment object is not an increment");
  }
  return header.entries;
}

// Snapshot, then increments in order (each must start where the one before ended).
absl::Status Rebuild(client::Pipeline& pipeline, MetaStore& store, const v1::BackupRoot& root,
                     RestoreReport& report, const RestoreProgress& progress) {
  std::string first_stripe;
  if (root.snapshot().manifest().stripes_size() > 0) {
    for (const auto& node : root.snapshot().manifest().stripes(0).nodes()) {
      first_stripe += (first_stripe.empty() ? "" : " ") + node;
    }
  }
  progress("reading the snapshot (" + std::to_string(root.snapshot().stream_bytes()) +
           " bytes; shards of its first stripe on: " + first_stripe + ")");
  ASSIGN_OR_RETURN(std::string snapshot,
                   ReadObject(pipeline, root.snapshot(), report.backup_faults));
  ASSIGN_OR_RETURN(report.records, LoadSnapshot(store, snapshot));
  progress("snapshot: " + std::to_string(report.records) + " records written");
  uint64_t next = root.snapshot().last_sequence() + 1;
  for (int i = 0; i < root.increments_size(); ++i) {
    const v1::BackupObject& inc = root.increments(i);
    if (inc.first_sequence() != next) {
      return absl::DataLossError("backup increment " + std::to_string(i + 1) +
                                 " does not follow the one before it");
    }
    ASSIGN_OR_RETURN(std::string bytes, ReadObject(pipeline, inc, report.backup_faults));
    ASSIGN_OR_RETURN(uint64_t batches, ApplyIncrement(store, bytes));
    report.batches += batches;
    next = inc.last_sequence() + 1;
    progress("increment " + std::to_string(i + 1) + " of " +
             std::to_string(root.increments_size()) + ": " + std::to_string(batches) +
             " write batches replayed");
  }
  report.increments = root.increments_size();
  // A backup taken by a master-key rotation records its clean-up as pending: that is the
  // rotating gateway's to finish, not the restored one's.
  ASSIGN_OR_RETURN(std::optional<v1::KeyStateRecord> keys, store.GetKeyState());
  if (keys && keys->cleanup_pending()) {
    keys->set_cleanup_pending(false);
    RETURN_IF_ERROR(store.PutKeyState(*keys));
  }
  // The restored backup is this store's backup now: the orphan sweep spares its objects,
  // and the identity (none) makes the gateway's first cycle a new snapshot.
  v1::BackupState state;
  *state.mutable_current() = root;
  return store.PutBackupState(state);
}

absl::Status Count(const MetaStore& store, RestoreReport& report) {
  ASSIGN_OR_RETURN(auto buckets, store.ListBuckets());
  report.buckets = buckets.size();
  for (const auto& [bucket, record] : buckets) {
    std::string start;
    while (true) {
      ASSIGN_OR_RETURN(auto page, store.ListObjects(bucket, "", start, kPage));
      for (const auto& entry : page) {
        ++report.objects;
        report.object_bytes += entry.record.size();
      }
      if (page.size() < kPage) break;
      start = page.back().key + std::string(1, '\0');
    }
  }
  ASSIGN_OR_RETURN(auto uploads, store.UploadsInitiatedBefore(std::numeric_limits<int64_t>::max(),
                                                              std::numeric_limits<size_t>::max()));
  report.uploads = uploads.size();
  ASSIGN_OR_RETURN(auto keys, store.ListKeys());
  report.access_keys = keys.size();
  return absl::OkStatus();
}

// Every chunk of `node`, or an error if the listing fails part-way.
absl::StatusOr<std::set<std::string>> ListAll(client::NodeClient& node) {
  std::set<std::string> out;
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(auto page, node.List(after, kPage));
    out.insert(page.first.begin(), page.first.end());
    if (page.second.empty()) return out;
    after = page.second;
  }
}

absl::Status Verify(client::Pipeline& pipeline, const MetaStore& store, RestoreReport& report,
                    const RestoreProgress& progress) {
  NodeChunks expected;
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(auto page, store.ListPieces(after, kPage));
    for (const auto& [id, piece] : page) {
      AddManifestChunks(pipeline.ring(), piece.manifest(), expected);
      ++report.pieces;
    }
    if (page.size() < kPage) break;
    after = page.back().first;
  }
  for (const auto& [node_id, chunks] : expected) {
    report.shards_checked += chunks.size();
    int index = pipeline.pool().IndexOf(node_id);
    if (index < 0) {
      report.shards_unverified += chunks.size();
      report.missing_examples.push_back(node_id + ": not in the node list given, " +
                                        std::to_string(chunks.size()) +
                                        " shards not checked (see below)");
      continue;
    }
    auto listed = ListAll(pipeline.pool().node(index));
    if (!listed.ok()) {
      report.shards_unverified += chunks.size();
      report.missing_examples.push_back(node_id + ": cannot list (" + listed.status().ToString() +
                                        "), " + std::to_string(chunks.size()) +
                                        " shards not checked");
      continue;
    }
    uint64_t missing = 0;
    for (const std::string& chunk : chunks) missing += listed->count(chunk) ? 0 : 1;
    report.shards_missing += missing;
    if (missing > 0) {
      report.missing_examples.push_back(node_id + ": " + std::to_string(missing) + " of " +
                                        std::to_string(chunks.size()) + " shards missing");
    }
    progress("verified " + node_id + ": " + std::to_string(chunks.size() - missing) + " of " +
             std::to_string(chunks.size()) + " shards present");
  }
  if (report.missing_examples.size() > kMaxExamples) report.missing_examples.resize(kMaxExamples);
  return absl::OkStatus();
}

// The store restored into: a new RocksDB folder `into`/meta, or an empty PostgreSQL database.
absl::StatusOr<std::unique_ptr<MetaStore>> OpenTarget(const std::string& into,
                                                      const MetadataConfig& metadata) {
  if (metadata.backend == MetadataConfig::Backend::kRocksDb) {
    ::mkdir(into.c_str(), 0700);
    return MetaStore::Open(into + "/meta");
  }
  ASSIGN_OR_RETURN(std::unique_ptr<MetaStore> store, MetaStore::Open(metadata, into));
  ASSIGN_OR_RETURN(bool empty, store->Empty());
  if (!empty) {
    return absl::FailedPreconditionError(
        "the PostgreSQL database holds Mosaic metadata already; restore into an empty database "
        "(CREATE DATABASE a new one, or drop this one's tables if it is certainly unused)");
  }
  return store;
}

}  // namespace

absl::StatusOr<RestoreReport> RestoreMetadata(client::Pipeline& pipeline, const std::string& into,
                                              const RestoreProgress& progress, bool take_over,
                                              const MetadataConfig& metadata) {
  RestoreReport report;
  bool rocks = metadata.backend == MetadataConfig::Backend::kRocksDb;
  std::string meta_dir = into + "/meta";
  std::error_code ec;
  if (rocks && std::filesystem::exists(meta_dir, ec)) {
    return absl::FailedPreconditionError(meta_dir + " exists already; restore into a new folder");
  }
  // Refused before anything is read from the nodes.
  if (!rocks) RETURN_IF_ERROR(OpenTarget(into, metadata).status());
  progress("looking for the backup root on " + std::to_string(pipeline.pool().size()) + " nodes");
  RootSearch search = FindRoots(pipeline.pool(), pipeline.ring());
  report.nodes = search.nodes;
  std::optional<v1::BackupRoot> root = NewestRoot(search.roots);
  if (!root) {
    return absl::NotFoundError("no backup found for this key on " + std::to_string(search.nodes) +
                               " nodes (" + std::to_string(search.reached) + " answered)");
  }
  for (const auto& r : search.roots) {
    if (r.generation() == root->generation()) ++report.nodes_with_root;
  }
  report.generation = root->generation();
  report.backup_ms = root->backup_ms();
  report.settings = root->settings();
  for (const auto& n : root->nodes()) {
    if (pipeline.pool().IndexOf(n.id()) < 0) {
      report.nodes_not_listed.push_back(n.id() + " (provider " + n.provider() + ", " + n.address() +
                                        ")");
    }
  }
  progress("found backup generation " + std::to_string(root->generation()) + " of " +
           FormatUtcMs(root->backup_ms()) + " on " + std::to_string(report.nodes_with_root) +
           " of " + std::to_string(search.nodes) + " nodes: a snapshot and " +
           std::to_string(root->increments_size()) + " increments");
  // After a master-key rotation the data's chunk ids are under the chunk-id key the first
  // master key had, which the root carries sealed under this one.
  std::unique_ptr<client::KeyRing> inherited;
  std::unique_ptr<client::Pipeline> rotated;
  client::Pipeline* reading = &pipeline;
  if (!root->sealed_chunk_id_key().empty()) {
    inherited = std::make_unique<client::KeyRing>(pipeline.ring().Clone());
    RETURN_IF_ERROR(inherited->InheritChunkIdKey(root->sealed_chunk_id_key()));
    rotated = std::make_unique<client::Pipeline>(*inherited, pipeline.pool(), pipeline.options());
    reading = rotated.get();
  }
  {
    ASSIGN_OR_RETURN(std::unique_ptr<MetaStore> store, OpenTarget(into, metadata));
    RETURN_IF_ERROR(Rebuild(*reading, *store, *root, report, progress));
  }
  // Reopened: the store reads its counters (deletion queue, repair backlog) at Open.
  ASSIGN_OR_RETURN(std::unique_ptr<MetaStore> store, MetaStore::Open(metadata, meta_dir));
  RETURN_IF_ERROR(Count(*store, report));
  progress("verifying the shards of every piece on the nodes");
  RETURN_IF_ERROR(Verify(*reading, *store, report, progress));
  if (!take_over) return report;
  ASSIGN_OR_RETURN(FenceReport fence, TakeNewGeneration(*store, pipeline.pool()));
  report.fenced = true;
  report.fencing_generation = fence.generation;
  report.fencing_previous = fence.previous;
  report.fenced_nodes = fence.fenced;
  report.fence_failures = std::move(fence.failures);
  return report;
}

std::string RestoreSummary(const RestoreReport& r) {
  std::string out;
  auto line = [&out](const std::string& s) { out += s + "\n"; };
  line("restored backup generation " + std::to_string(r.generation) + " (" +
       std::to_string(r.records) + " records, " + std::to_string(r.increments) + " increments, " +
       std::to_string(r.batches) + " write batches)");
  line("  buckets:     " + std::to_string(r.buckets));
  line("  objects:     " + std::to_string(r.objects) + " (" + std::to_string(r.object_bytes) +
       " bytes)");
  line("  uploads:     " + std::to_string(r.uploads) + " in progress");
  line("  access keys: " + std::to_string(r.access_keys));
  line("  pieces:      " + std::to_string(r.pieces) + ", " + std::to_string(r.shards_checked) +
       " shards: " + std::to_string(r.shards_missing) + " missing, " +
       std::to_string(r.shards_unverified) + " not verified");
  for (const auto& m : r.missing_examples) line("    " + m);
  if (!r.backup_faults.empty()) {
    line("  backup shards that failed or were corrupt (survived): " +
         std::to_string(r.backup_faults.size()));
    for (size_t i = 0; i < r.backup_faults.size() && i < kMaxExamples; ++i) {
      line("    " + r.backup_faults[i]);
    }
  }
  for (const auto& n : r.nodes_not_listed) {
    line("  node " + n + " was in the backed-up gateway's node list but not in --nodes");
  }
  if (!r.nodes_not_listed.empty()) {
    line("  what to do: if those nodes still run, add their [[node]] tables (address, token,");
    line("  certificate) to the --nodes file and restore again into a new folder; if they are");
    line("  gone, start the gateway anyway: reads work around their shards (up to m per");
    line("  stripe), and `mosaic scrub --config FILE --wait` queues every stripe that has one");
    line("  for repair onto the other providers (`mosaic status` shows the progress)");
  }
  if (!r.fenced) {
    line("not fenced (--drill): the running gateway keeps writing; do not start this folder's");
    line("  gateway while it runs (restore again without --drill to take over)");
  }
  if (r.fenced) {
    line("fenced: gateway generation " + std::to_string(r.fencing_generation) + " taken at " +
         std::to_string(r.fenced_nodes) + " of " + std::to_string(r.nodes) +
         " nodes; a gateway of generation " + std::to_string(r.fencing_previous) +
         " or older (the one backed up) can read but no longer write or delete there");
    for (const auto& f : r.fence_failures) {
      line("    " + f + " (it records the new generation at this gateway's first write)");
    }
  }
  line("backup time " + FormatUtcMs(r.backup_ms) + " (" + std::to_string(r.backup_ms) +
       " ms): objects written after " + FormatUtcMs(r.backup_ms) + " are not in this backup");
  return out;
}

}  // namespace mosaic::gateway
