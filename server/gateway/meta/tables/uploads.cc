#include "server/gateway/meta/tables/uploads.h"

#include <algorithm>

#include "server/gateway/meta/meta_store.h"
#include "server/gateway/meta/tables/pieces.h"

namespace mosaic::gateway::meta::uploads {
namespace {

constexpr char kUpload = 'u';
constexpr char kPart = 'p';

std::string Prefix(const std::string& bucket) {
  std::string k(1, kUpload);
  k += bucket;
  k.push_back('\0');
  return k;
}
std::string Key(const std::string& bucket, const std::string& key, const std::string& id) {
  return Prefix(bucket) + key + std::string(1, '\0') + id;
}
std::string PartPrefix(const std::string& upload_id) {
  return std::string(1, kPart) + upload_id + std::string(1, '\0');
}
std::string PartKey(const std::string& upload_id, uint32_t number) {
  return PartPrefix(upload_id) + EncodeBE32(number);
}

// Splits a `u` key into bucket and key; false if it is malformed.
bool SplitKey(std::string_view k, UploadEntry& out) {
  k.remove_prefix(1);
  size_t first = k.find('\0'), last = k.rfind('\0');
  if (first == std::string_view::npos || first == last) return false;
  out.bucket = std::string(k.substr(0, first));
  out.key = std::string(k.substr(first + 1, last - first - 1));
  return true;
}

// Visits the uploads from `from` under `prefix` while `take` says so (false stops).
absl::StatusOr<std::vector<UploadEntry>> Scan(
    Transaction& t, const std::string& prefix, const std::string& from, size_t limit,
    const std::function<absl::StatusOr<bool>(const UploadEntry&, bool& keep)>& take) {
  std::vector<UploadEntry> out;
  if (limit == 0) return out;
  RETURN_IF_ERROR(
      t.Scan(prefix, from, [&](std::string_view k, std::string_view v) -> absl::StatusOr<bool> {
        UploadEntry e;
        if (!SplitKey(k, e)) return absl::DataLossError("metadata: malformed upload key");
        ASSIGN_OR_RETURN(e.record, ParseRow<v1::UploadRecord>(v, "upload"));
        bool keep = false;
        ASSIGN_OR_RETURN(bool more, take(e, keep));
        if (keep) out.push_back(std::move(e));
        return more && out.size() < limit;
      }));
  return out;
}

}  // namespace

absl::StatusOr<std::optional<v1::UploadRecord>> Get(Transaction& t, const std::string& bucket,
                                                    const std::string& key,
                                                    const std::string& upload_id,
                                                    std::optional<Transaction::Lock> lock) {
  return GetRow<v1::UploadRecord>(t, Key(bucket, key, upload_id), "upload", lock);
}

absl::Status Put(Transaction& t, const std::string& bucket, const std::string& key,
                 const v1::UploadRecord& record) {
  return PutRow(t, Key(bucket, key, record.upload_id()), record);
}

absl::Status Delete(Transaction& t, const std::string& bucket, const std::string& key,
                    const std::string& upload_id) {
  return t.Delete(Key(bucket, key, upload_id));
}

absl::StatusOr<std::vector<UploadEntry>> List(Transaction& t, const std::string& bucket,
                                              const std::string& prefix,
                                              const std::string& key_marker,
                                              const std::string& upload_marker, size_t limit) {
  std::string base = Prefix(bucket);
  std::string start = base + prefix;
  if (!key_marker.empty()) {
    // After the marker's uploads (all of them without an upload marker).
    std::string after = upload_marker.empty()
                            ? PrefixSuccessor(base + key_marker + std::string(1, '\0'))
                            : Key(bucket, key_marker, upload_marker) + std::string(1, '\0');
    start = std::max(start, after);
  }
  return Scan(t, base, start, limit, [&](const UploadEntry& e, bool& keep) {
    keep = e.key.starts_with(prefix);
    return keep;
  });
}

absl::StatusOr<std::vector<UploadEntry>> InitiatedBefore(Transaction& t, int64_t before_ms,
                                                         size_t limit) {
  return Scan(t, std::string(1, kUpload), "", limit, [&](const UploadEntry& e, bool& keep) {
    keep = e.record.initiated_ms() < before_ms;
    return true;
  });
}

absl::StatusOr<std::optional<v1::ObjectPart>> GetPart(Transaction& t, const std::string& upload_id,
                                                      uint32_t number,
                                                      std::optional<Transaction::Lock> lock) {
  return GetRow<v1::ObjectPart>(t, PartKey(upload_id, number), "part", lock);
}

absl::Status PutPart(Transaction& t, const std::string& upload_id, const v1::ObjectPart& part) {
  return t.Put(PartKey(upload_id, part.number()), pieces::Stored(part));
}

absl::Status DeletePart(Transaction& t, const std::string& upload_id, uint32_t number) {
  return t.Delete(PartKey(upload_id, number));
}

absl::StatusOr<std::vector<v1::ObjectPart>> ListParts(Transaction& t, const std::string& upload_id,
                                                      uint32_t after, size_t limit) {
  std::vector<v1::ObjectPart> out;
  if (limit == 0) return out;
  RETURN_IF_ERROR(t.Scan(PartPrefix(upload_id), PartKey(upload_id, after),
                         [&](std::string_view, std::string_view v) -> absl::StatusOr<bool> {
                           ASSIGN_OR_RETURN(auto part, ParseRow<v1::ObjectPart>(v, "part"));
                           if (part.number() > after) out.push_back(std::move(part));
                           return out.size() < limit;
                         }));
  return out;
}

}  // namespace mosaic::gateway::meta::uploads
