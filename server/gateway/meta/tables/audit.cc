#include "server/gateway/meta/tables/audit.h"

#include <atomic>

#include "client/crypto/secret.h"

namespace mosaic::gateway::meta::audit {
namespace {
constexpr char kTag = 'L';
}  // namespace

std::string TimeOrderedKey(std::string_view prefix, int64_t time_ms) {
  auto ms = static_cast<uint64_t>(time_ms);
  static std::atomic<uint32_t> sequence{0};
  std::string suffix = EncodeBE32(sequence.fetch_add(1)) + std::string(4, '\0');
  client::RandomBytes({reinterpret_cast<std::byte*>(suffix.data() + 4), 4});
  return std::string(prefix) + EncodeBE32(uint32_t(ms >> 32)) + EncodeBE32(uint32_t(ms)) + suffix;
}

absl::Status Append(Transaction& t, const v1::AuditRecord& r) {
  return PutRow(t, TimeOrderedKey(std::string(1, kTag), r.time_ms()), r);
}

absl::StatusOr<std::vector<v1::AuditRecord>> Newest(Transaction& t, size_t limit) {
  ASSIGN_OR_RETURN(auto lines, LastRows<v1::AuditRecord>(t, std::string(1, kTag), limit, "audit"));
  return std::vector<v1::AuditRecord>(std::make_move_iterator(lines.rbegin()),
                                      std::make_move_iterator(lines.rend()));
}

}  // namespace mosaic::gateway::meta::audit
