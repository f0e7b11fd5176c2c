#include "server/gateway/meta/tables/pieces.h"

#include <spdlog/spdlog.h>

#include "server/gateway/meta/tables/deletion_queue.h"

namespace mosaic::gateway::meta::pieces {
namespace {
constexpr char kTag = 'm';
std::string Key(const std::string& id) { return std::string(1, kTag) + id; }
}  // namespace

absl::StatusOr<std::optional<v1::PieceRecord>> Get(Transaction& t, const std::string& id,
                                                   std::optional<Transaction::Lock> lock) {
  return GetRow<v1::PieceRecord>(t, Key(id), "piece", lock);
}

absl::Status Put(Transaction& t, const std::string& id, const v1::PieceRecord& r) {
  return PutRow(t, Key(id), r);
}

absl::StatusOr<std::vector<std::pair<std::string, v1::PieceRecord>>> List(Transaction& t,
                                                                          const std::string& after,
                                                                          size_t limit) {
  // One more than asked: the first row may be `after` itself.
  ASSIGN_OR_RETURN(auto rows,
                   ScanRows<v1::PieceRecord>(t, std::string(1, kTag), Key(after),
                                             limit == SIZE_MAX ? limit : limit + 1, "piece"));
  std::vector<std::pair<std::string, v1::PieceRecord>> out;
  for (auto& [key, record] : rows) {
    std::string id = key.substr(1);
    if ((!after.empty() && id == after) || out.size() == limit) continue;
    out.emplace_back(std::move(id), std::move(record));
  }
  return out;
}

absl::Status Hydrate(Transaction& t, v1::ObjectPart& part) {
  if (part.piece_id().empty()) return absl::OkStatus();  // carries its manifest
  ASSIGN_OR_RETURN(auto piece, Get(t, part.piece_id()));
  if (!piece) return absl::DataLossError("metadata: a record names a piece that is not stored");
  *part.mutable_manifest() = std::move(*piece->mutable_manifest());
  return absl::OkStatus();
}

void References::Add(const v1::ObjectPart& part, int delta) {
  auto& [d, manifest] = deltas_[PieceIdOf(part)];
  d += delta;
  if (part.has_manifest()) manifest = &part.manifest();
}

void References::Add(const v1::ObjectRecord& record, int delta) {
  for (const auto& part : record.parts()) Add(part, delta);
  if (!record.delete_marker()) {
    objects_ += delta;
    bytes_ += delta * static_cast<int64_t>(record.size());
  }
}

absl::StatusOr<uint64_t> References::Apply(
    Transaction& t, const std::function<absl::StatusOr<uint64_t>()>& next_sequence) {
  uint64_t queued = 0;
  for (const auto& [id, change] : deltas_) {
    const auto& [delta, manifest] = change;
    if (delta == 0) continue;
    ASSIGN_OR_RETURN(auto piece, Get(t, id, Transaction::Lock::kExclusive));
    int64_t count = piece ? static_cast<int64_t>(piece->references()) : 0;
    if (!piece) {
      if (manifest == nullptr) {
        return absl::DataLossError("metadata: a record names a piece that is not stored");
      }
      piece.emplace();
      *piece->mutable_manifest() = *manifest;
    }
    count += delta;
    if (count > 0) {
      piece->set_references(static_cast<uint64_t>(count));
      RETURN_IF_ERROR(Put(t, id, *piece));
      continue;
    }
    if (count < 0) spdlog::error("metadata: a piece had fewer references than released");
    RETURN_IF_ERROR(t.Delete(Key(id)));
    v1::DeletionRecord d;
    *d.mutable_manifest() = piece->manifest();
    ASSIGN_OR_RETURN(uint64_t seq, next_sequence());
    RETURN_IF_ERROR(deletion_queue::Put(t, seq, d));
    ++queued;
  }
  return queued;
}

}  // namespace mosaic::gateway::meta::pieces
