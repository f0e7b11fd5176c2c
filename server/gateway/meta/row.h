#pragma once
// Typed rows over a Transaction (txn.h): records are protobuf messages, keys are bytes built
// by each table (meta/tables/). Shared by the tables; private to meta/.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "server/gateway/meta/txn.h"

namespace mosaic::gateway::meta {

template <typename Message>
absl::StatusOr<Message> ParseRow(std::string_view bytes, const char* what) {
  Message m;
  if (!m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(std::string("metadata: malformed ") + what + " record");
  }
  return m;
}

// The row at `key`, nullopt if there is none; with `lock`, locked (Transaction::GetForUpdate).
template <typename Message>
absl::StatusOr<std::optional<Message>> GetRow(Transaction& t, std::string_view key,
                                              const char* what,
                                              std::optional<Transaction::Lock> lock = {}) {
  ASSIGN_OR_RETURN(auto bytes, lock ? t.GetForUpdate(key, *lock) : t.Get(key));
  if (!bytes) return std::nullopt;
  ASSIGN_OR_RETURN(Message m, ParseRow<Message>(*bytes, what));
  return m;
}

template <typename Message>
absl::Status PutRow(Transaction& t, std::string_view key, const Message& m) {
  return t.Put(key, m.SerializeAsString());
}

// Up to `limit` rows whose key starts with `prefix` and is >= `from`, in key order, with
// their keys.
template <typename Message>
absl::StatusOr<std::vector<std::pair<std::string, Message>>> ScanRows(Transaction& t,
                                                                      std::string_view prefix,
                                                                      std::string_view from,
                                                                      size_t limit,
                                                                      const char* what) {
  std::vector<std::pair<std::string, Message>> out;
  if (limit == 0) return out;
  RETURN_IF_ERROR(t.Scan(prefix, from,
                         [&](std::string_view key, std::string_view value) -> absl::StatusOr<bool> {
                           ASSIGN_OR_RETURN(Message m, ParseRow<Message>(value, what));
                           out.emplace_back(std::string(key), std::move(m));
                           return out.size() < limit;
                         }));
  return out;
}

inline std::string EncodeBE32(uint32_t v) {
  std::string k;
  for (int shift = 24; shift >= 0; shift -= 8) k.push_back(static_cast<char>(v >> shift));
  return k;
}
inline uint32_t LoadBE32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

}  // namespace mosaic::gateway::meta
