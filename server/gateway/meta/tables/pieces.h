#pragma once
// Table of pieces: `m` <piece id> -> PieceRecord (the piece's manifest, stored once, and the
// number of object and part records naming it), and References, which counts a
// transaction's changes to those numbers and queues a piece whose count reaches zero for
// deletion in the same transaction.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/meta/row.h"

namespace mosaic::gateway::meta::pieces {

inline std::string PieceIdOf(const v1::ObjectPart& part) {
  return part.piece_id().empty() ? part.manifest().object_id() : part.piece_id();
}

// A part's size: its manifest's, or the size stored with it when read without its manifest
// (nullopt for a record written before sizes were stored, read without manifests).
inline std::optional<uint64_t> PartSize(const v1::ObjectPart& part) {
  if (part.has_manifest()) return part.manifest().size();
  if (part.has_size()) return part.size();
  return std::nullopt;
}

// A record as stored: its pieces by id and size only.
template <typename Record>
std::string Stored(Record record) {
  auto strip = [](v1::ObjectPart& part) {
    part.set_piece_id(PieceIdOf(part));
    if (part.has_manifest()) part.set_size(part.manifest().size());
    part.clear_manifest();
  };
  if constexpr (std::is_same_v<Record, v1::ObjectPart>) {
    strip(record);
  } else {
    for (auto& part : *record.mutable_parts()) strip(part);
  }
  return record.SerializeAsString();
}

absl::StatusOr<std::optional<v1::PieceRecord>> Get(Transaction& t, const std::string& id,
                                                   std::optional<Transaction::Lock> lock = {});
absl::Status Put(Transaction& t, const std::string& id, const v1::PieceRecord& r);
// Up to `limit` pieces with ids after `after` ("" = from the first), in id order.
absl::StatusOr<std::vector<std::pair<std::string, v1::PieceRecord>>> List(Transaction& t,
                                                                          const std::string& after,
                                                                          size_t limit);
// Fills a stored part's manifest in from its piece record (DATA_LOSS if there is none).
absl::Status Hydrate(Transaction& t, v1::ObjectPart& part);

class References {
 public:
  // The part's manifest (if it carries one: a new piece) must outlive Apply.
  void Add(const v1::ObjectPart& part, int delta);
  void Add(const v1::ObjectRecord& record, int delta);
  // Locks each changed piece (in id order), applies the counts, and queues a piece whose
  // count reaches zero for deletion under `next_sequence()`. A piece already stored keeps
  // its stored manifest (repair may have moved shards since the caller read it). Returns
  // the number of pieces queued.
  absl::StatusOr<uint64_t> Apply(Transaction& t,
                                 const std::function<absl::StatusOr<uint64_t>()>& next_sequence);
  // What the records added and removed change in their bucket's usage (usage.h): their
  // number and bytes, delete markers excepted.
  int64_t object_delta() const { return objects_; }
  int64_t byte_delta() const { return bytes_; }

 private:
  int64_t objects_ = 0;
  int64_t bytes_ = 0;
  std::map<std::string, std::pair<int64_t, const v1::Manifest*>> deltas_;
};

}  // namespace mosaic::gateway::meta::pieces
