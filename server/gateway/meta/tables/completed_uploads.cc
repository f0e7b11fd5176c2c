#include "server/gateway/meta/tables/completed_uploads.h"

#include <vector>

namespace mosaic::gateway::meta::completed_uploads {
namespace {
constexpr char kTag = 'c';
std::string Key(const std::string& upload_id) { return std::string(1, kTag) + upload_id; }
}  // namespace

absl::StatusOr<std::optional<v1::CompletedUploadRecord>> Get(Transaction& t,
                                                             const std::string& upload_id) {
  return GetRow<v1::CompletedUploadRecord>(t, Key(upload_id), "completed upload");
}

absl::Status Put(Transaction& t, const v1::CompletedUploadRecord& r) {
  return PutRow(t, Key(r.upload_id()), r);
}

absl::StatusOr<uint64_t> Expire(Transaction& t, int64_t before_ms, size_t limit) {
  std::vector<std::string> old;
  RETURN_IF_ERROR(t.Scan(std::string(1, kTag), "",
                         [&](std::string_view key, std::string_view value) -> absl::StatusOr<bool> {
                           if (old.size() >= limit) return false;
                           ASSIGN_OR_RETURN(auto r, ParseRow<v1::CompletedUploadRecord>(
                                                        value, "completed upload"));
                           if (r.completed_ms() < before_ms) old.emplace_back(key);
                           return true;
                         }));
  for (const auto& key : old) RETURN_IF_ERROR(t.Delete(key));
  return old.size();
}

}  // namespace mosaic::gateway::meta::completed_uploads
