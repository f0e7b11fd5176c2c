#include "server/gateway/meta/tables/versions.h"

#include <algorithm>

#include "server/gateway/meta/tables/pieces.h"

namespace mosaic::gateway::meta::versions {
namespace {
constexpr char kTag = 'v';
constexpr char kNullTag = 'V';

std::string NullKey(const std::string& bucket, const std::string& key) {
  std::string k(1, kNullTag);
  k += bucket;
  k.push_back('\0');
  return k + key;
}

std::string KeyPrefix(const std::string& bucket, const std::string& key) {
  std::string k = BucketPrefix(bucket) + key;
  k.push_back('\0');
  return k;
}

std::string EncodeBE64(uint64_t v) {
  return EncodeBE32(uint32_t(v >> 32)) + EncodeBE32(uint32_t(v));
}

// The order the null-version index names, nullopt if none.
absl::StatusOr<std::optional<uint64_t>> NullOrder(Transaction& t, const std::string& bucket,
                                                  const std::string& key) {
  ASSIGN_OR_RETURN(auto bytes, t.Get(NullKey(bucket, key)));
  if (!bytes) return std::nullopt;
  if (bytes->size() != 8) return absl::DataLossError("metadata: malformed null-version index");
  uint64_t v = 0;
  for (unsigned char c : *bytes) v = v << 8 | c;
  return v;
}

}  // namespace

std::string BucketPrefix(const std::string& bucket) {
  std::string k(1, kTag);
  k += bucket;
  k.push_back('\0');
  return k;
}

std::string RowKey(const std::string& bucket, const std::string& key, uint64_t order) {
  // Inverted: the newest version (the greatest order) sorts first.
  return KeyPrefix(bucket, key) + EncodeBE64(~order);
}

absl::StatusOr<std::optional<v1::ObjectRecord>> Get(Transaction& t, const std::string& bucket,
                                                    const std::string& key, uint64_t order) {
  return GetRow<v1::ObjectRecord>(t, RowKey(bucket, key, order), "version");
}

absl::StatusOr<std::optional<v1::ObjectRecord>> GetNull(Transaction& t, const std::string& bucket,
                                                        const std::string& key) {
  ASSIGN_OR_RETURN(std::optional<uint64_t> order, NullOrder(t, bucket, key));
  if (!order) return std::nullopt;
  ASSIGN_OR_RETURN(auto row, Get(t, bucket, key, *order));
  if (row && !row->version_id().empty()) return std::nullopt;
  return row;
}

absl::Status Put(Transaction& t, const std::string& bucket, const std::string& key,
                 const v1::ObjectRecord& record) {
  if (record.version_id().empty()) {
    RETURN_IF_ERROR(t.Put(NullKey(bucket, key), EncodeBE64(record.version_order())));
  }
  return t.Put(RowKey(bucket, key, record.version_order()), pieces::Stored(record));
}

absl::Status Delete(Transaction& t, const std::string& bucket, const std::string& key,
                    uint64_t order) {
  ASSIGN_OR_RETURN(std::optional<uint64_t> null_order, NullOrder(t, bucket, key));
  if (null_order == order) RETURN_IF_ERROR(t.Delete(NullKey(bucket, key)));
  return t.Delete(RowKey(bucket, key, order));
}

absl::StatusOr<std::string> IndexNullVersions(Transaction& t, const std::string& from,
                                              size_t limit) {
  const std::string table(1, kTag);
  ASSIGN_OR_RETURN(
      auto rows, ScanRows<v1::ObjectRecord>(t, table, std::max(table, from), limit + 1, "version"));
  std::string next = rows.size() > limit ? rows.back().first : "";
  if (rows.size() > limit) rows.pop_back();
  for (const auto& [row_key, record] : rows) {
    if (!record.version_id().empty()) continue;
    // `v` <bucket> NUL <key> NUL <8 bytes>
    size_t nul = row_key.find('\0', 1);
    if (nul == std::string::npos || row_key.size() < nul + 10) {
      return absl::DataLossError("metadata: malformed version row key");
    }
    std::string index =
        NullKey(row_key.substr(1, nul - 1), row_key.substr(nul + 1, row_key.size() - nul - 10));
    ASSIGN_OR_RETURN(auto existing, t.GetForUpdate(index));
    if (!existing) RETURN_IF_ERROR(t.Put(index, EncodeBE64(record.version_order())));
  }
  return next;
}

absl::StatusOr<std::vector<v1::ObjectRecord>> OfKey(Transaction& t, const std::string& bucket,
                                                    const std::string& key, size_t limit) {
  std::string prefix = KeyPrefix(bucket, key);
  ASSIGN_OR_RETURN(auto rows, ScanRows<v1::ObjectRecord>(t, prefix, prefix, limit, "version"));
  std::vector<v1::ObjectRecord> out;
  out.reserve(rows.size());
  for (auto& [k, record] : rows) out.push_back(std::move(record));
  return out;
}

absl::StatusOr<std::vector<VersionEntry>> List(Transaction& t, const std::string& bucket,
                                               const std::string& prefix, const std::string& from,
                                               size_t limit) {
  std::string base = BucketPrefix(bucket);
  ASSIGN_OR_RETURN(
      auto rows, ScanRows<v1::ObjectRecord>(t, base + prefix, std::max(base + prefix, from), limit,
                                            "version"));
  std::vector<VersionEntry> out;
  out.reserve(rows.size());
  for (auto& [k, record] : rows) {
    // <base> <key> NUL <8 bytes>
    out.push_back({k.substr(base.size(), k.size() - base.size() - 9), std::move(record), false});
  }
  return out;
}

}  // namespace mosaic::gateway::meta::versions
