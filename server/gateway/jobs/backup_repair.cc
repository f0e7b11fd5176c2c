#include "server/gateway/jobs/backup_repair.h"

#include <spdlog/spdlog.h>

#include <vector>

#include "client/pipeline/stripe_repair.h"
#include "server/gateway/meta/manifest_codec.h"

namespace mosaic::gateway {
namespace {

struct InFlight {
  client::InFlightChunks& registry;
  std::vector<std::string> ids;
  ~InFlight() { registry.Remove(ids); }
};

// Repairs the lost shards of one object; updates its manifest.
void RepairObject(client::Pipeline& pipeline, v1::BackupObject& object,
                  const std::function<bool(const std::string&)>& lost, InFlight& in_flight,
                  BackupRepairReport& report) {
  auto manifest = FromProto(object.manifest());
  if (!manifest.ok()) {
    ++report.shards_failed;
    if (report.first_error.empty()) report.first_error = manifest.status().ToString();
    return;
  }
  for (int s = 0; s < object.manifest().stripes_size(); ++s) {
    v1::StripePlacement* placement = object.mutable_manifest()->mutable_stripes(s);
    std::vector<int> shards;
    for (int i = 0; i < placement->nodes_size(); ++i) {
      if (!placement->nodes(i).empty() && lost(placement->nodes(i))) shards.push_back(i);
    }
    if (shards.empty()) continue;
    for (int shard : shards) {
      in_flight.ids.push_back(client::ChunkIdString(
          pipeline.ring().ComputeChunkId(manifest->object_id, uint64_t(s), shard)));
      pipeline.in_flight().Add(in_flight.ids.back());
    }
    client::StripeRepairResult r =
        client::RepairStripe(pipeline, *manifest, uint64_t(s), shards, lost, nullptr);
    for (const client::ReplacedShard& shard : r.shards) {
      if (r.status.ok() && shard.status.ok()) {
        const std::string& old = placement->nodes(shard.shard_index);
        if (int i = pipeline.pool().IndexOf(old); i >= 0 && pipeline.Readable(i)) {
          report.replaced.emplace_back(old,
                                       client::ChunkIdString(pipeline.ring().ComputeChunkId(
                                           manifest->object_id, uint64_t(s), shard.shard_index)));
        }
        placement->set_nodes(shard.shard_index, shard.node_id);
        ++report.shards_rebuilt;
        continue;
      }
      ++report.shards_failed;
      if (report.first_error.empty()) {
        report.first_error = (r.status.ok() ? shard.status : r.status).ToString();
      }
    }
    if (!r.status.ok() && r.shards.empty()) report.shards_failed += shards.size();
  }
}

}  // namespace

BackupRepairReport RepairBackupObjects(client::Pipeline& pipeline, v1::BackupState& state,
                                       const std::function<bool(const std::string&)>& lost) {
  BackupRepairReport report;
  auto in_flight = std::make_shared<InFlight>(InFlight{pipeline.in_flight(), {}});
  for (bool current : {true, false}) {
    if (!current && !state.has_previous()) break;  // (mutable_previous would create one)
    v1::BackupRoot* root = current ? state.mutable_current() : state.mutable_previous();
    if (root->has_snapshot()) {
      RepairObject(pipeline, *root->mutable_snapshot(), lost, *in_flight, report);
    }
    for (v1::BackupObject& increment : *root->mutable_increments()) {
      RepairObject(pipeline, increment, lost, *in_flight, report);
    }
  }
  if (report.shards_rebuilt > 0 || report.shards_failed > 0) {
    spdlog::info("metadata backup: {} shards on lost nodes rebuilt elsewhere, {} not{}",
                 report.shards_rebuilt, report.shards_failed,
                 report.first_error.empty() ? "" : " (" + report.first_error + ")");
  }
  report.in_flight = std::move(in_flight);
  return report;
}

void DeleteReplacedCopies(client::Pipeline& pipeline, const BackupRepairReport& report) {
  for (const auto& [node_id, chunk_id] : report.replaced) {
    int node = pipeline.pool().IndexOf(node_id);
    if (node >= 0) pipeline.pool().node(node).Delete(chunk_id, [](absl::StatusOr<bool>) {});
  }
}

}  // namespace mosaic::gateway
