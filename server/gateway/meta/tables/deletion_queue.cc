#include "server/gateway/meta/tables/deletion_queue.h"

#include "common/bytes.h"

namespace mosaic::gateway::meta::deletion_queue {
namespace {
constexpr char kTag = 'd';
std::string Key(uint64_t seq) {
  std::string k(1, kTag);
  AppendBE64(k, seq);
  return k;
}
}  // namespace

absl::Status Put(Transaction& t, uint64_t seq, const v1::DeletionRecord& r) {
  return PutRow(t, Key(seq), r);
}

absl::StatusOr<bool> Lock(Transaction& t, uint64_t seq) {
  ASSIGN_OR_RETURN(auto value, t.GetForUpdate(Key(seq)));
  return value.has_value();
}

absl::Status Delete(Transaction& t, uint64_t seq) { return t.Delete(Key(seq)); }

absl::StatusOr<std::vector<std::pair<uint64_t, v1::DeletionRecord>>> Pending(Transaction& t,
                                                                             size_t limit) {
  ASSIGN_OR_RETURN(auto rows,
                   ScanRows<v1::DeletionRecord>(t, std::string(1, kTag), "", limit, "deletion"));
  std::vector<std::pair<uint64_t, v1::DeletionRecord>> out;
  out.reserve(rows.size());
  for (auto& [key, record] : rows) {
    if (key.size() != 9) return absl::DataLossError("metadata: malformed deletion key");
    out.emplace_back(LoadBE64(key.data() + 1), std::move(record));
  }
  return out;
}

absl::StatusOr<Census> Count(Transaction& t) {
  Census c;
  RETURN_IF_ERROR(t.Scan(std::string(1, kTag), "",
                         [&](std::string_view key, std::string_view) -> absl::StatusOr<bool> {
                           if (key.size() == 9) c.last = LoadBE64(key.data() + 1);
                           ++c.count;
                           return true;
                         }));
  return c;
}

}  // namespace mosaic::gateway::meta::deletion_queue
