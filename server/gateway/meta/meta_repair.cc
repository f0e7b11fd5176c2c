// MetaStore's writes for the repair job (meta_store.h: MoveShard, CommitRepairs).
#include <map>
#include <set>

#include "common/status.h"
#include "server/gateway/meta/meta_store.h"
#include "server/gateway/meta/tables/pieces.h"
#include "server/gateway/meta/tables/repair_queue.h"

namespace mosaic::gateway {
namespace {

using meta::Transaction;

// Moves shard `shard` of stripe `stripe` of `piece` from `from_node` to `to_node`, in memory.
absl::Status MoveInPiece(v1::PieceRecord& piece, uint64_t stripe, uint32_t shard,
                         const std::string& from_node, const std::string& to_node) {
  auto* stripes = piece.mutable_manifest()->mutable_stripes();
  if (stripe >= uint64_t(stripes->size()) ||
      shard >= uint32_t((*stripes)[int(stripe)].nodes_size())) {
    return absl::InvalidArgumentError("no such shard in the piece");
  }
  auto* nodes = (*stripes)[int(stripe)].mutable_nodes();
  if ((*nodes)[int(shard)] != from_node) {
    return absl::FailedPreconditionError("the shard moved meanwhile");
  }
  (*nodes)[int(shard)] = to_node;
  return absl::OkStatus();
}

}  // namespace

absl::Status MetaStore::MoveShard(const std::string& piece_id, uint64_t stripe, int shard,
                                  const std::string& from_node, const std::string& to_node) {
  if (shard < 0) return absl::InvalidArgumentError("no such shard in the piece");
  return Write([&](Transaction& t, Tally& tally) -> absl::Status {
    ASSIGN_OR_RETURN(auto piece, meta::pieces::Get(t, piece_id, Transaction::Lock::kExclusive));
    if (!piece) return absl::NotFoundError("the piece is gone");
    RETURN_IF_ERROR(MoveInPiece(*piece, stripe, uint32_t(shard), from_node, to_node));
    RETURN_IF_ERROR(meta::pieces::Put(t, piece_id, *piece));
    ASSIGN_OR_RETURN(bool dequeued,
                     meta::repair_queue::DropShard(t, piece_id, stripe, uint32_t(shard)));
    if (dequeued) --tally.repairs;
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<std::vector<absl::Status>>> MetaStore::CommitRepairs(
    const std::vector<RepairCommit>& commits) {
  std::vector<std::vector<absl::Status>> results;
  RETURN_IF_ERROR(Write([&](Transaction& t, Tally& tally) -> absl::Status {
    results.assign(commits.size(), {});
    // Every piece locked once, in id order (the same order for every batch), then changed
    // in memory and written once.
    std::map<std::string, std::optional<v1::PieceRecord>> pieces;
    for (const RepairCommit& c : commits) {
      if (!c.moves.empty()) pieces.emplace(c.taken.piece_id(), std::nullopt);
    }
    for (auto& [id, piece] : pieces) {
      ASSIGN_OR_RETURN(piece, meta::pieces::Get(t, id, Transaction::Lock::kExclusive));
    }
    std::set<std::string> changed;
    for (size_t i = 0; i < commits.size(); ++i) {
      const RepairCommit& c = commits[i];
      for (const ShardMove& move : c.moves) {
        std::optional<v1::PieceRecord>& piece = pieces[c.taken.piece_id()];
        absl::Status moved =
            piece ? MoveInPiece(*piece, c.taken.stripe(), move.shard, move.from_node, move.to_node)
                  : absl::NotFoundError("the piece is gone");
        if (moved.ok()) changed.insert(c.taken.piece_id());
        results[i].push_back(std::move(moved));
      }
    }
    for (const std::string& id : changed) RETURN_IF_ERROR(meta::pieces::Put(t, id, *pieces[id]));
    for (const RepairCommit& c : commits) {
      ASSIGN_OR_RETURN(bool removed, meta::repair_queue::Finish(t, c.taken, c.retry));
      if (removed) --tally.repairs;
    }
    return absl::OkStatus();
  }));
  return results;
}

}  // namespace mosaic::gateway
