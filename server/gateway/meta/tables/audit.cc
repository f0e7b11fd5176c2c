#include "server/gateway/meta/tables/audit.h"

#include <atomic>
#include <deque>

#include "client/crypto/secret.h"

namespace mosaic::gateway::meta::audit {
namespace {
constexpr char kTag = 'L';
}  // namespace

absl::Status Append(Transaction& t, const v1::AuditRecord& r) {
  auto ms = static_cast<uint64_t>(r.time_ms());
  // Lines of one millisecond keep this process's order (a counter), and several gateways'
  // lines never collide (random bytes).
  static std::atomic<uint32_t> sequence{0};
  std::string suffix = EncodeBE32(sequence.fetch_add(1)) + std::string(4, '\0');
  client::RandomBytes({reinterpret_cast<std::byte*>(suffix.data() + 4), 4});
  std::string key =
      std::string(1, kTag) + EncodeBE32(uint32_t(ms >> 32)) + EncodeBE32(uint32_t(ms));
  return PutRow(t, key + suffix, r);
}

absl::StatusOr<std::vector<v1::AuditRecord>> Newest(Transaction& t, size_t limit) {
  // The interface scans forward only: keep the last `limit` lines seen.
  std::deque<v1::AuditRecord> last;
  RETURN_IF_ERROR(t.Scan(std::string(1, kTag), "",
                         [&](std::string_view, std::string_view value) -> absl::StatusOr<bool> {
                           ASSIGN_OR_RETURN(auto r, ParseRow<v1::AuditRecord>(value, "audit"));
                           last.push_back(std::move(r));
                           if (last.size() > limit) last.pop_front();
                           return true;
                         }));
  return std::vector<v1::AuditRecord>(last.rbegin(), last.rend());
}

}  // namespace mosaic::gateway::meta::audit
