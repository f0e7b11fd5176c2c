#include "server/gateway/jobs/metadata_backup.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "server/gateway/backup/root_io.h"
#include "server/gateway/backup/settings.h"
#include "server/gateway/backup/stream.h"
#include "server/gateway/jobs/backup_repair.h"
#include "server/gateway/meta/manifest_codec.h"

namespace mosaic::gateway {
namespace {

constexpr uint64_t kMinSnapshotForFraction = uint64_t{1} << 20;

// The last sequence a backup covers.
uint64_t LastSequence(const v1::BackupRoot& root) {
  return root.increments().empty() ? root.snapshot().last_sequence()
                                   : root.increments().rbegin()->last_sequence();
}

// The objects of a backup: its snapshot (if any), then its increments.
std::vector<const v1::BackupObject*> ObjectsOf(const v1::BackupRoot& root) {
  std::vector<const v1::BackupObject*> objects;
  if (root.has_snapshot()) objects.push_back(&root.snapshot());
  for (const auto& inc : root.increments()) objects.push_back(&inc);
  return objects;
}

// Streams an encoder's output into a pipeline writer.
BackupStreamEncoder::Sink WriterSink(client::ObjectWriter& writer) {
  return [&writer](std::string_view bytes) { return writer.Write(AsBytes(bytes)); };
}

absl::StatusOr<v1::BackupObject> FinishObject(client::ObjectWriter& writer,
                                              BackupStreamEncoder& encoder) {
  RETURN_IF_ERROR(encoder.Finish());
  ASSIGN_OR_RETURN(client::ObjectManifest manifest, writer.Finish());
  v1::BackupObject out;
  *out.mutable_manifest() = ToProto(manifest);
  out.set_stream_bytes(encoder.bytes());
  return out;
}

}  // namespace

MetadataBackup::MetadataBackup(MetaStore& meta, client::Pipeline& pipeline,
                               metrics::Registry& registry, Options options)
    : Worker("metadata backup", {.idle_wait = options.interval,
                                 .backoff_initial = options.interval,
                                 .backoff_max = options.interval}),
      meta_(meta),
      pipeline_(pipeline),
      options_(options),
      lag_(registry.GetGauge("mosaic_gateway_backup_lag_seconds",
                             "Age of the oldest write not in the metadata backup, at the "
                             "last backup cycle.")),
      last_success_(registry.GetGauge("mosaic_gateway_backup_last_success_seconds",
                                      "Unix time of the last successful metadata backup.")),
      bytes_(registry.GetCounter("mosaic_gateway_backup_bytes_total",
                                 "Bytes of metadata backup objects written.")),
      failures_(registry.GetCounter("mosaic_gateway_backup_failures_total",
                                    "Metadata backup cycles that failed.")) {}

absl::StatusOr<WorkResult> MetadataBackup::Step() {
  absl::Status status = RunOnce();  // logged and counted there
  if (options_.interval.count() <= 0) return WorkResult::Done();
  // A failed cycle is tried again one interval later (the worker's backoff is the interval).
  RETURN_IF_ERROR(status);
  return WorkResult::Idle();
}

std::string MetadataBackup::Detail() const {
  Progress p = progress();
  if (p.last_success_ms == 0) return "no backup yet";
  return "generation " + std::to_string(p.generation) + ", " + std::to_string(p.increments) +
         " increments on the snapshot";
}

absl::Status MetadataBackup::RunOnce() {
  std::lock_guard run(run_mu_);
  absl::Status status;
  try {
    status = Cycle();
  } catch (const std::exception& e) {
    status = absl::InternalError(std::string("exception: ") + e.what());
  }
  std::lock_guard lock(mu_);
  if (!status.ok()) {
    spdlog::error("metadata backup: {}", status.ToString());
    failures_.Inc();
    progress_.last_error = status.ToString();
  }
  if (progress_.covered_ms > 0) lag_.Set(double(UnixNowMs() - progress_.covered_ms) / 1000.0);
  return status;
}

MetadataBackup::Progress MetadataBackup::progress() const {
  std::lock_guard lock(mu_);
  return progress_;
}

void MetadataBackup::Succeeded(const v1::BackupRoot& root, int64_t covered_ms) {
  std::lock_guard lock(mu_);
  progress_.last_success_ms = UnixNowMs();
  progress_.covered_ms = covered_ms;
  progress_.generation = root.generation();
  progress_.snapshot_bytes = root.snapshot().stream_bytes();
  progress_.increments = root.increments_size();
  progress_.last_error.clear();
  last_success_.Set(double(progress_.last_success_ms) / 1000.0);
}

bool MetadataBackup::SnapshotDue(const v1::BackupState& state, const std::string& identity) const {
  const v1::BackupRoot& current = state.current();
  if (!current.has_snapshot() || state.db_identity() != identity) return true;
  if (current.increments_size() >= options_.max_increments) return true;
  uint64_t increments = 0;
  for (const auto& inc : current.increments()) increments += inc.stream_bytes();
  uint64_t base = std::max(current.snapshot().stream_bytes(), kMinSnapshotForFraction);
  return double(increments) > options_.increment_fraction * double(base);
}

std::string MetadataBackup::LostNode(const v1::BackupRoot& current) const {
  for (const v1::BackupObject* object : ObjectsOf(current)) {
    for (const auto& stripe : object->manifest().stripes()) {
      for (const std::string& node : stripe.nodes()) {
        if (node.empty()) continue;
        int i = pipeline_.pool().IndexOf(node);
        if (i < 0 || !pipeline_.Readable(i) || pipeline_.Excluded(i)) return node;
      }
    }
  }
  return "";
}

absl::StatusOr<std::unique_ptr<client::ObjectWriter>> MetadataBackup::WriteSnapshot(
    v1::BackupObject& out) {
  ASSIGN_OR_RETURN(std::unique_ptr<client::ObjectWriter> writer, pipeline_.NewWriter());
  BackupStreamEncoder encoder(BackupKind::kSnapshot, WriterSink(*writer));
  auto sequence = meta_.VisitSnapshot(
      [&](std::string_view key, std::string_view value) { return encoder.AddPair(key, value); });
  if (!sequence.ok()) {
    writer->Abort();
    return sequence.status();
  }
  ASSIGN_OR_RETURN(out, FinishObject(*writer, encoder));
  out.set_first_sequence(0);
  out.set_last_sequence(*sequence);
  spdlog::info("metadata backup: snapshot of {} records at sequence {}, {} bytes",
               encoder.entries(), *sequence, encoder.bytes());
  return writer;
}

absl::StatusOr<std::unique_ptr<client::ObjectWriter>> MetadataBackup::WriteIncrement(
    uint64_t after, v1::BackupObject& out) {
  ASSIGN_OR_RETURN(std::unique_ptr<client::ObjectWriter> writer, pipeline_.NewWriter());
  BackupStreamEncoder encoder(BackupKind::kIncrement, WriterSink(*writer));
  auto last = meta_.VisitUpdatesSince(
      after, [&](uint64_t sequence, std::string_view batch, bool backup_state_only) {
        // The backup's own bookkeeping is not backed up by increments: restore writes its
        // own state, and recording a backup must not count as a change to back up.
        return backup_state_only ? absl::OkStatus() : encoder.AddBatch(sequence, batch);
      });
  if (!last.ok() || encoder.entries() == 0) {
    writer->Abort();
    if (!last.ok()) return last.status();
    return nullptr;
  }
  ASSIGN_OR_RETURN(out, FinishObject(*writer, encoder));
  out.set_first_sequence(after + 1);
  out.set_last_sequence(*last);
  spdlog::debug("metadata backup: increment of {} batches, sequences {}..{}", encoder.entries(),
                after + 1, *last);
  return writer;
}

uint64_t MetadataBackup::GenerationOnNodes() {
  RootSearch search = FindRoots(pipeline_.pool(), pipeline_.ring());
  uint64_t highest = 0;
  for (const auto& root : search.roots) highest = std::max(highest, root.generation());
  return highest;
}

void MetadataBackup::Prune(const v1::BackupRoot& old) {
  size_t left = 0;
  for (const v1::BackupObject* object : ObjectsOf(old)) {
    auto manifest = FromProto(object->manifest());
    if (manifest.ok()) left += pipeline_.Delete(*manifest).size();
  }
  // What a node did not confirm is no longer named anywhere: the orphan sweep takes it.
  if (left > 0) spdlog::warn("metadata backup: {} old backup shards not deleted yet", left);
}

v1::GatewaySettings MetadataBackup::CurrentSettings(const v1::GatewaySettings& last) {
  if (!options_.settings) return last;
  auto fresh = options_.settings();
  if (fresh.ok()) return *std::move(fresh);
  spdlog::warn(
      "metadata backup: the gateway's settings cannot be read ({}); the backup keeps "
      "those of the last one",
      fresh.status().ToString());
  return last;
}

absl::Status MetadataBackup::Cycle() {
  int64_t started_ms = UnixNowMs();
  ASSIGN_OR_RETURN(std::optional<v1::BackupState> stored, meta_.GetBackupState());
  v1::BackupState state = stored.value_or(v1::BackupState());
  uint64_t generation = stored ? state.current().generation() : GenerationOnNodes();
  ASSIGN_OR_RETURN(std::string identity, meta_.Identity());
  v1::GatewaySettings settings = CurrentSettings(state.current().settings());
  bool settings_changed = !SameSettings(settings, state.current().settings());
  v1::BackupRoot root;
  std::unique_ptr<client::ObjectWriter> writer;  // alive until the state names its object
  bool snapshot = SnapshotDue(state, identity);
  bool forced = false;        // by a backup shard on a node that is down, draining or removed
  BackupRepairReport repair;  // its rebuilt shards: the root must be written again
  // A shard of the backup on a node that is down, draining or removed is rebuilt elsewhere
  // (jobs/backup_repair.h). What could not be rebuilt is redundancy lost until a new
  // snapshot, which is therefore taken now, even if nothing changed (an idle gateway would
  // otherwise never take one).
  if (!snapshot && stored && !LostNode(state.current()).empty()) {
    auto lost = [this](const std::string& node) {
      int i = pipeline_.pool().IndexOf(node);
      return i < 0 || !pipeline_.Readable(i) || pipeline_.Excluded(i);
    };
    repair = RepairBackupObjects(pipeline_, state, lost);
  }
  const bool repaired = repair.shards_rebuilt > 0;
  if (!snapshot && stored) {
    if (std::string lost = LostNode(state.current()); !lost.empty()) {
      spdlog::warn(
          "metadata backup: a shard of the backup is on node {}, which is down, "
          "draining or removed; taking a new snapshot",
          lost);
      snapshot = true;
      forced = true;
    }
  }
  if (!snapshot) {
    v1::BackupObject increment;
    auto written = WriteIncrement(LastSequence(state.current()), increment);
    if (absl::IsFailedPrecondition(written.status())) {
      spdlog::warn("metadata backup: {}; taking a new snapshot",
                   std::string(written.status().message()));
      snapshot = true;
    } else {
      RETURN_IF_ERROR(written.status());
      if (*written == nullptr && !(stored && settings_changed) && !repaired) {
        Succeeded(state.current(), started_ms);
        return absl::OkStatus();
      }
      // With no new metadata but new settings: the same objects under a new root.
      writer = *std::move(written);
      root = state.current();
      if (writer != nullptr) *root.add_increments() = std::move(increment);
    }
  }
  v1::BackupRoot pruned;
  v1::BackupRoot pruned_too;  // the current backup, when it is the one on a lost node
  if (snapshot) {
    ASSIGN_OR_RETURN(writer, WriteSnapshot(*root.mutable_snapshot()));
    pruned = std::move(*state.mutable_previous());
    if (forced) {
      // Keeping a backup with a shard on a draining node would keep that node holding it.
      pruned_too = state.current();
      state.clear_previous();
    } else {
      *state.mutable_previous() = state.current();
    }
  }
  root.set_generation(generation + 1);
  root.set_backup_ms(started_ms);
  // After a master-key rotation a restore needs the inherited chunk-id key to find the data.
  root.set_sealed_chunk_id_key(pipeline_.ring().SealedChunkIdKey());
  *root.mutable_settings() = std::move(settings);
  root.clear_nodes();
  for (int i = 0; i < pipeline_.pool().size(); ++i) {
    const client::NodeEndpoint& e = pipeline_.pool().node(i).endpoint();
    v1::BackupNode* n = root.add_nodes();
    n->set_id(e.spec.id);
    n->set_provider(e.spec.provider);
    n->set_site(e.spec.site);
    n->set_address(e.address);
  }
  *state.mutable_current() = root;
  state.set_db_identity(identity);
  RETURN_IF_ERROR(meta_.PutBackupState(state));
  repair.in_flight.reset();
  DeleteReplacedCopies(pipeline_, repair);
  if (writer != nullptr) {
    writer.reset();  // its chunks are named by the state now
    const v1::BackupObject& added = snapshot ? root.snapshot() : *root.increments().rbegin();
    bytes_.Inc(added.stream_bytes());
  }
  RootWriteReport report = WriteRootEverywhere(pipeline_.pool(), pipeline_.ring(), root,
                                               [this](int i) { return !pipeline_.Excluded(i); });
  if (report.written == 0) {
    return absl::UnavailableError(
        "no node took the backup root (" +
        (report.failures.empty() ? std::string("no nodes") : report.failures.front()) + ")");
  }
  if (report.written < report.nodes) {
    spdlog::warn("metadata backup: root generation {} on {} of {} nodes (first failure: {})",
                 root.generation(), report.written, report.nodes, report.failures.front());
  }
  if (snapshot) Prune(pruned);
  if (forced) Prune(pruned_too);
  Succeeded(root, started_ms);
  return absl::OkStatus();
}

}  // namespace mosaic::gateway
