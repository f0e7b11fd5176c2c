// MetaStore's versions (meta_store.h, "Versions"; docs/architecture.md, "Versions"). A key's
// current object is its `o` row (objects.h), so that ListObjects reads what it always read;
// every other version of it, and a delete marker, is a row of the versions table
// (versions.h). Invariant, kept by every transaction here under the key's `o` row lock: the
// `o` row exists iff the key's newest version is an object, and then it is that version.
#include <algorithm>
#include <chrono>
#include <random>

#include "common/clock.h"
#include "common/status.h"
#include "server/gateway/meta/internal/versioning.h"
#include "server/gateway/meta/meta_store.h"
#include "server/gateway/meta/rocks_backend.h"
#include "server/gateway/meta/tables/buckets.h"
#include "server/gateway/meta/tables/lifecycle.h"
#include "server/gateway/meta/tables/objects.h"
#include "server/gateway/meta/tables/pieces.h"
#include "server/gateway/meta/tables/versions.h"

namespace mosaic::gateway {
namespace meta {
namespace {

constexpr auto kExclusive = Transaction::Lock::kExclusive;
constexpr int64_t kDayMs = 24 * 3600 * 1000LL;

uint64_t NowUs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

std::string Hex(uint64_t v, int digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(static_cast<size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i, v >>= 4) out[static_cast<size_t>(i)] = kDigits[v & 15];
  return out;
}

// 16 hex digits of the order, then 8 random ones: the id names its row (OrderOf), and an id
// of a version deleted long ago is not taken again by chance.
std::string NewVersionId(uint64_t order) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return Hex(order, 16) + Hex(rng() & 0xffffffffu, 8);
}

std::optional<uint64_t> OrderOf(const std::string& id) {
  if (id.size() != 24) return std::nullopt;
  uint64_t order = 0;
  for (size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return std::nullopt;
    if (i < 16) order = (order << 4) | static_cast<uint64_t>(d);
  }
  return order;
}

// A new version's order: after every version the key has (strictly increasing per key, even
// if the clock steps back), else the time in microseconds.
absl::StatusOr<uint64_t> NextOrder(Transaction& t, const std::string& bucket,
                                   const std::string& key,
                                   const std::optional<v1::ObjectRecord>& current) {
  uint64_t newest = 0;
  if (current) {
    newest = current->version_order();
  } else {
    ASSIGN_OR_RETURN(auto rows, versions::OfKey(t, bucket, key, 1));
    if (!rows.empty()) newest = rows[0].version_order();
  }
  return std::max(NowUs(), newest + 1);
}

absl::Status Locked() {
  return absl::PermissionDeniedError("the version is protected by Object Lock");
}

// Removes the null version of the key (a suspended bucket's write replaces it); returns
// what remains current.
absl::StatusOr<std::optional<v1::ObjectRecord>> DropNullVersion(
    Transaction& t, pieces::References& refs, const std::string& bucket, const std::string& key,
    std::optional<v1::ObjectRecord> current) {
  ASSIGN_OR_RETURN(auto null_version, FindVersion(t, bucket, key, current, "null"));
  if (!null_version) return current;
  if (LockedAgainstDelete(*null_version, UnixNowMs(), false)) return Locked();
  refs.Add(*null_version, -1);
  if (current && current->version_id().empty()) {
    RETURN_IF_ERROR(objects::Delete(t, bucket, key));
    return std::nullopt;
  }
  RETURN_IF_ERROR(versions::Delete(t, bucket, key, null_version->version_order()));
  return current;
}

// After the current object or the newest marker went: the newest version left becomes the
// `o` row if it is an object.
absl::Status PromoteNewest(Transaction& t, const std::string& bucket, const std::string& key) {
  ASSIGN_OR_RETURN(auto rows, versions::OfKey(t, bucket, key, 1));
  if (rows.empty() || rows[0].delete_marker()) return absl::OkStatus();
  RETURN_IF_ERROR(versions::Delete(t, bucket, key, rows[0].version_order()));
  return objects::Put(t, bucket, key, rows[0]);
}

absl::Status RemoveVersion(Transaction& t, pieces::References& refs, const std::string& bucket,
                           const std::string& key, const std::optional<v1::ObjectRecord>& current,
                           const std::string& version_id, bool bypass, int64_t now_ms,
                           DeletedVersion& out) {
  ASSIGN_OR_RETURN(auto found, FindVersion(t, bucket, key, current, version_id));
  out.version_id = version_id;
  if (!found) return absl::OkStatus();
  if (LockedAgainstDelete(*found, now_ms, bypass)) return Locked();
  out.existed = true;
  out.delete_marker = found->delete_marker();
  refs.Add(*found, -1);
  bool is_current = current && current->version_order() == found->version_order();
  if (is_current) {
    RETURN_IF_ERROR(objects::Delete(t, bucket, key));
  } else {
    RETURN_IF_ERROR(versions::Delete(t, bucket, key, found->version_order()));
  }
  return is_current || !current ? PromoteNewest(t, bucket, key) : absl::OkStatus();
}

absl::Status WriteDeleteMarker(Transaction& t, pieces::References& refs, const v1::BucketRecord& b,
                               const std::string& bucket, const std::string& key,
                               std::optional<v1::ObjectRecord> current, DeletedVersion& out) {
  v1::ObjectRecord marker;
  ASSIGN_OR_RETURN(uint64_t order, NextOrder(t, bucket, key, current));
  marker.set_version_order(order);
  marker.set_delete_marker(true);
  marker.set_last_modified_ms(UnixNowMs());
  bool enabled = b.versioning() == v1::BucketRecord::ENABLED;
  if (enabled) marker.set_version_id(NewVersionId(order));
  if (!enabled) {
    ASSIGN_OR_RETURN(current, DropNullVersion(t, refs, bucket, key, current));
  }
  if (current) {
    RETURN_IF_ERROR(versions::Put(t, bucket, key, *current));
    RETURN_IF_ERROR(objects::Delete(t, bucket, key));
  }
  RETURN_IF_ERROR(versions::Put(t, bucket, key, marker));
  out = {true, true, ShownVersionId(marker)};
  return absl::OkStatus();
}

// The bucket's default retention on a version written without one of its own.
void ApplyDefaultRetention(const v1::BucketRecord& b, v1::ObjectRecord& record) {
  if (!record.lock_mode().empty() || b.default_lock_mode().empty()) return;
  int64_t days = int64_t(b.default_lock_days()) + 365 * int64_t(b.default_lock_years());
  record.set_lock_mode(b.default_lock_mode());
  record.set_retain_until_ms(record.last_modified_ms() + days * kDayMs);
}

}  // namespace

absl::StatusOr<std::optional<v1::ObjectRecord>> FindVersion(
    Transaction& t, const std::string& bucket, const std::string& key,
    const std::optional<v1::ObjectRecord>& current, const std::string& version_id) {
  if (current && ShownVersionId(*current) == version_id) return current;
  if (version_id == "null") return versions::GetNull(t, bucket, key);
  std::optional<uint64_t> order = OrderOf(version_id);
  if (!order) return absl::InvalidArgumentError("Invalid version id specified");
  ASSIGN_OR_RETURN(auto row, versions::Get(t, bucket, key, *order));
  if (row && row->version_id() == version_id) return row;
  return std::nullopt;
}

std::string ShownVersionId(const v1::ObjectRecord& record) {
  return record.version_id().empty() ? "null" : record.version_id();
}

bool LockedAgainstDelete(const v1::ObjectRecord& record, int64_t now_ms, bool bypass_governance) {
  if (record.legal_hold()) return true;
  if (record.lock_mode().empty() || record.retain_until_ms() <= now_ms) return false;
  return record.lock_mode() == "COMPLIANCE" || !bypass_governance;
}

}  // namespace meta

using meta::Transaction;
namespace objects = meta::objects;
namespace versions = meta::versions;

absl::StatusOr<std::string> MetaStore::CommitVersion(Transaction& t, meta::pieces::References& refs,
                                                     const v1::BucketRecord& b,
                                                     const std::string& bucket,
                                                     const std::string& key,
                                                     const std::optional<v1::ObjectRecord>& old,
                                                     v1::ObjectRecord& record) {
  ASSIGN_OR_RETURN(uint64_t order, meta::NextOrder(t, bucket, key, old));
  record.set_version_order(order);
  record.set_delete_marker(false);
  bool enabled = b.versioning() == v1::BucketRecord::ENABLED;
  record.set_version_id(enabled ? meta::NewVersionId(order) : "");
  meta::ApplyDefaultRetention(b, record);
  std::optional<v1::ObjectRecord> current = old;
  if (!enabled) {
    ASSIGN_OR_RETURN(current, meta::DropNullVersion(t, refs, bucket, key, current));
  }
  if (current) RETURN_IF_ERROR(versions::Put(t, bucket, key, *current));
  RETURN_IF_ERROR(objects::Put(t, bucket, key, record));
  refs.Add(record, +1);
  return meta::ShownVersionId(record);
}

absl::StatusOr<DeletedVersion> MetaStore::DeleteVersion(
    const std::string& bucket, const std::string& key, const std::optional<std::string>& version_id,
    bool bypass_governance, int64_t now_ms) {
  DeletedVersion out;
  RETURN_IF_ERROR(Write([&](Transaction& t, Tally& tally) -> absl::Status {
    out = {};
    ASSIGN_OR_RETURN(auto b, meta::buckets::Get(t, bucket, Transaction::Lock::kShared));
    ASSIGN_OR_RETURN(auto current, objects::Get(t, bucket, key, meta::kExclusive));
    meta::pieces::References refs;
    if (version_id) {
      RETURN_IF_ERROR(meta::RemoveVersion(t, refs, bucket, key, current, *version_id,
                                          bypass_governance, now_ms, out));
    } else if (!b || b->versioning() == v1::BucketRecord::UNVERSIONED) {
      out.existed = current.has_value();
      if (current) {
        if (meta::LockedAgainstDelete(*current, now_ms, false)) return meta::Locked();
        RETURN_IF_ERROR(objects::Delete(t, bucket, key));
        refs.Add(*current, -1);
      }
    } else {
      RETURN_IF_ERROR(meta::WriteDeleteMarker(t, refs, *b, bucket, key, current, out));
    }
    return ApplyReferences(t, refs, tally, bucket);
  }));
  return out;
}

absl::StatusOr<std::optional<v1::ObjectRecord>> MetaStore::GetVersion(
    const std::string& bucket, const std::string& key, const std::optional<std::string>& version_id,
    Hydration hydration, const PartRange& parts) const {
  auto t = backend_->Snapshot();
  ASSIGN_OR_RETURN(auto record, objects::Get(*t, bucket, key));
  if (version_id) {
    ASSIGN_OR_RETURN(record, meta::FindVersion(*t, bucket, key, record, *version_id));
  } else if (!record) {
    ASSIGN_OR_RETURN(auto rows, versions::OfKey(*t, bucket, key, 1));
    if (!rows.empty()) record = std::move(rows[0]);
  }
  if (record && hydration == Hydration::kManifests) {
    RETURN_IF_ERROR(HydrateParts(*t, *record, parts));
  }
  return record;
}

absl::StatusOr<bool> MetaStore::UpdateVersion(const std::string& bucket, const std::string& key,
                                              const std::optional<std::string>& version_id,
                                              const VersionChange& change) {
  bool found = false;
  RETURN_IF_ERROR(Write([&](Transaction& t, Tally&) -> absl::Status {
    ASSIGN_OR_RETURN(auto current, objects::Get(t, bucket, key, meta::kExclusive));
    std::optional<v1::ObjectRecord> record = current;
    if (version_id) {
      ASSIGN_OR_RETURN(record, meta::FindVersion(t, bucket, key, current, *version_id));
    }
    found = record.has_value();
    if (!record) return absl::OkStatus();
    RETURN_IF_ERROR(change(*record));
    bool is_current = current && current->version_order() == record->version_order();
    return is_current ? objects::Put(t, bucket, key, *record)
                      : versions::Put(t, bucket, key, *record);
  }));
  return found;
}

absl::StatusOr<std::vector<VersionEntry>> MetaStore::ListVersions(
    const std::string& bucket, const std::string& prefix, const std::string& from_key,
    const std::optional<std::string>& after_version, size_t limit) const {
  auto t = backend_->Snapshot();
  std::string o_from = from_key;
  std::string v_from = versions::BucketPrefix(bucket) + from_key;
  if (after_version) {
    // The marker's version was listed, and with it the key's current object (listed first).
    o_from = from_key + std::string(1, '\0');
    ASSIGN_OR_RETURN(auto current, objects::Get(*t, bucket, from_key));
    ASSIGN_OR_RETURN(auto marker, meta::FindVersion(*t, bucket, from_key, current, *after_version));
    v_from = marker ? versions::RowKey(bucket, from_key, marker->version_order()) + '\0'
                    : versions::BucketPrefix(bucket) + from_key + '\x01';
  }
  ASSIGN_OR_RETURN(auto objs, objects::List(*t, bucket, prefix, o_from, limit));
  ASSIGN_OR_RETURN(auto rows, versions::List(*t, bucket, prefix, v_from, limit));
  std::vector<VersionEntry> out;
  size_t i = 0, j = 0;
  while (out.size() < limit && (i < objs.size() || j < rows.size())) {
    if (j == rows.size() || (i < objs.size() && objs[i].key <= rows[j].key)) {
      out.push_back({std::move(objs[i].key), std::move(objs[i].record), true});
      ++i;
      continue;
    }
    VersionEntry& e = rows[j++];
    if (out.empty() || out.back().key != e.key) {
      // The first of its key here: the newest, unless the key has a current object or the
      // page starts inside the key.
      ASSIGN_OR_RETURN(auto current, objects::Get(*t, bucket, e.key));
      e.latest = !current && !(after_version && e.key == from_key);
    }
    out.push_back(std::move(e));
  }
  return out;
}

absl::Status MetaStore::UpdateBucket(const std::string& name, const BucketChange& change) {
  return Write([&](Transaction& t, Tally&) -> absl::Status {
    ASSIGN_OR_RETURN(auto b, meta::buckets::Get(t, name, meta::kExclusive));
    if (!b) return absl::NotFoundError("no bucket " + name);
    RETURN_IF_ERROR(change(*b));
    return meta::buckets::Put(t, name, *b);
  });
}

absl::StatusOr<std::optional<v1::LifecycleCursor>> MetaStore::GetLifecycleCursor() const {
  return meta::lifecycle::Get(*backend_->Snapshot());
}

absl::Status MetaStore::PutLifecycleCursor(const v1::LifecycleCursor& cursor) {
  return backend_->Run([&](meta::Transaction& t) { return meta::lifecycle::Put(t, cursor); });
}

}  // namespace mosaic::gateway
