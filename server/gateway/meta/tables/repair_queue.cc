#include "server/gateway/meta/tables/repair_queue.h"

#include <algorithm>
#include <set>

#include "common/bytes.h"

namespace mosaic::gateway::meta::repair_queue {
namespace {

constexpr char kRepair = 'q';
constexpr char kIndex = 'Q';

std::string StripeId(const std::string& piece_id, uint64_t stripe) {
  std::string k;
  AppendBE64(k, stripe);
  return k + piece_id;
}
std::string RepairKey(uint32_t margin, const std::string& stripe_id) {
  return std::string(1, kRepair) + EncodeBE32(margin) + stripe_id;
}
std::string IndexKey(const std::string& stripe_id) { return std::string(1, kIndex) + stripe_id; }

// The stripe's current margin, locked; nullopt if it is not queued.
absl::StatusOr<std::optional<uint32_t>> LockMargin(Transaction& t, const std::string& stripe_id) {
  ASSIGN_OR_RETURN(auto bytes, t.GetForUpdate(IndexKey(stripe_id)));
  if (!bytes) return std::nullopt;
  if (bytes->size() != 4) return absl::DataLossError("metadata: malformed repair index");
  return LoadBE32(bytes->data());
}

absl::Status PutEntry(Transaction& t, const std::string& stripe_id, const v1::RepairRecord& r) {
  RETURN_IF_ERROR(t.Put(IndexKey(stripe_id), EncodeBE32(r.margin())));
  return PutRow(t, RepairKey(r.margin(), stripe_id), r);
}

v1::RepairRecord Merge(const v1::RepairRecord& old, const v1::RepairRecord& record) {
  std::set<uint32_t> shards(old.shards().begin(), old.shards().end());
  shards.insert(record.shards().begin(), record.shards().end());
  v1::RepairRecord merged = old;
  merged.clear_shards();
  for (uint32_t shard : shards) merged.add_shards(shard);
  merged.set_margin(std::min(old.margin(), record.margin()));
  merged.set_not_before_ms(std::min(old.not_before_ms(), record.not_before_ms()));
  if (merged.reason().find(record.reason()) == std::string::npos) {
    merged.set_reason(merged.reason() + ", " + record.reason());
  }
  return merged;
}

}  // namespace

absl::StatusOr<bool> Queue(Transaction& t, const v1::RepairRecord& record) {
  std::string stripe_id = StripeId(record.piece_id(), record.stripe());
  ASSIGN_OR_RETURN(auto margin, LockMargin(t, stripe_id));
  v1::RepairRecord merged = record;
  if (margin) {
    ASSIGN_OR_RETURN(auto old,
                     GetRow<v1::RepairRecord>(t, RepairKey(*margin, stripe_id), "repair"));
    if (old) merged = Merge(*old, record);
    RETURN_IF_ERROR(t.Delete(RepairKey(*margin, stripe_id)));
  } else {
    std::set<uint32_t> shards(record.shards().begin(), record.shards().end());
    merged.clear_shards();
    for (uint32_t shard : shards) merged.add_shards(shard);
  }
  RETURN_IF_ERROR(PutEntry(t, stripe_id, merged));
  return !margin.has_value();
}

absl::StatusOr<std::vector<v1::RepairRecord>> Pending(Transaction& t, size_t limit) {
  ASSIGN_OR_RETURN(auto rows,
                   ScanRows<v1::RepairRecord>(t, std::string(1, kRepair), "", limit, "repair"));
  std::vector<v1::RepairRecord> out;
  out.reserve(rows.size());
  for (auto& row : rows) out.push_back(std::move(row.second));
  return out;
}

absl::StatusOr<bool> Finish(Transaction& t, const v1::RepairRecord& taken,
                            const std::optional<v1::RepairRecord>& retry) {
  std::string stripe_id = StripeId(taken.piece_id(), taken.stripe());
  ASSIGN_OR_RETURN(auto margin, LockMargin(t, stripe_id));
  if (!margin) return false;
  ASSIGN_OR_RETURN(auto current,
                   GetRow<v1::RepairRecord>(t, RepairKey(*margin, stripe_id), "repair"));
  RETURN_IF_ERROR(t.Delete(RepairKey(*margin, stripe_id)));
  // Shards queued while the entry was being worked on (another node went down meanwhile).
  v1::RepairRecord rest = current ? *current : taken;
  rest.clear_shards();
  if (current) {
    std::set<uint32_t> done(taken.shards().begin(), taken.shards().end());
    for (uint32_t s : current->shards()) {
      if (!done.contains(s)) rest.add_shards(s);
    }
  }
  if (retry) {
    RETURN_IF_ERROR(PutEntry(t, stripe_id, rest.shards_size() > 0 ? Merge(*retry, rest) : *retry));
    return false;
  }
  if (rest.shards_size() > 0) {
    RETURN_IF_ERROR(PutEntry(t, stripe_id, rest));
    return false;
  }
  RETURN_IF_ERROR(t.Delete(IndexKey(stripe_id)));
  return true;
}

absl::StatusOr<bool> DropShard(Transaction& t, const std::string& piece_id, uint64_t stripe,
                               uint32_t shard) {
  std::string stripe_id = StripeId(piece_id, stripe);
  ASSIGN_OR_RETURN(auto margin, LockMargin(t, stripe_id));
  if (!margin) return false;
  ASSIGN_OR_RETURN(auto current,
                   GetRow<v1::RepairRecord>(t, RepairKey(*margin, stripe_id), "repair"));
  if (!current) return absl::DataLossError("metadata: repair index without its entry");
  v1::RepairRecord taken = *current;
  taken.clear_shards();
  taken.add_shards(shard);
  return Finish(t, taken, std::nullopt);
}

absl::StatusOr<uint64_t> Count(Transaction& t) {
  uint64_t count = 0;
  RETURN_IF_ERROR(t.Scan(std::string(1, kIndex), "",
                         [&](std::string_view, std::string_view) -> absl::StatusOr<bool> {
                           ++count;
                           return true;
                         }));
  return count;
}

}  // namespace mosaic::gateway::meta::repair_queue
