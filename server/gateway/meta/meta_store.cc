#include "server/gateway/meta/meta_store.h"

#include <algorithm>
#include <tuple>

#include "common/clock.h"
#include "common/status.h"
#include "server/gateway/meta/format_upgrade.h"
#include "server/gateway/meta/internal/versioning.h"
#include "server/gateway/meta/pg_backend.h"
#include "server/gateway/meta/rocks_backend.h"
#include "server/gateway/meta/tables/access_keys.h"
#include "server/gateway/meta/tables/buckets.h"
#include "server/gateway/meta/tables/completed_uploads.h"
#include "server/gateway/meta/tables/deletion_queue.h"
#include "server/gateway/meta/tables/down_nodes.h"
#include "server/gateway/meta/tables/leases.h"
#include "server/gateway/meta/tables/node_states.h"
#include "server/gateway/meta/tables/objects.h"
#include "server/gateway/meta/tables/pieces.h"
#include "server/gateway/meta/tables/repair_queue.h"
#include "server/gateway/meta/tables/sequences.h"
#include "server/gateway/meta/tables/uploads.h"
#include "server/gateway/meta/tables/usage.h"
#include "server/gateway/meta/tables/versions.h"

// Every operation is one transaction over the tables (meta/tables/, key schema in each
// header and in docs/architecture.md). Locking, so that each rule holds under concurrency
// without a lock of our own:
//   - a write into a bucket (object, upload) holds the bucket's row shared; DeleteBucket
//     holds it exclusively, so no object or upload appears while it checks emptiness;
//   - a part's writer holds its upload's row shared; Complete, Abort and DeleteBucket
//     exclusively, so the parts they list are all there is;
//   - every written object row is locked before it is read (conditional writes see the
//     row they replace), and every piece whose count changes (pieces::References), in id
//     order;
//   - a copy locks its source's row, so the source's pieces cannot go meanwhile.

namespace mosaic::gateway {
namespace {

using meta::Transaction;
namespace objects = meta::objects;
namespace pieces = meta::pieces;
namespace uploads = meta::uploads;
constexpr auto kShared = Transaction::Lock::kShared;
constexpr auto kExclusive = Transaction::Lock::kExclusive;

v1::CompletedUploadRecord Completed(const std::string& bucket, const std::string& key,
                                    const std::string& upload_id, const v1::ObjectRecord& record) {
  v1::CompletedUploadRecord c;
  c.set_bucket(bucket);
  c.set_key(key);
  c.set_upload_id(upload_id);
  c.set_etag(record.etag());
  c.set_size(record.size());
  c.set_completed_ms(record.last_modified_ms());
  for (const auto& part : record.parts()) {
    auto* p = c.add_parts();
    p->set_number(part.number());
    p->set_etag(part.etag());
  }
  return c;
}

absl::StatusOr<v1::BucketRecord> RequireBucket(Transaction& t, const std::string& bucket) {
  ASSIGN_OR_RETURN(auto b, meta::buckets::Get(t, bucket, kShared));
  if (!b) return absl::NotFoundError("no bucket " + bucket);
  return *std::move(b);
}

}  // namespace

std::string PrefixSuccessor(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (prefix.empty()) return "";
  prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

MetaStore::MetaStore(std::unique_ptr<meta::Backend> backend) : backend_(std::move(backend)) {}
MetaStore::~MetaStore() = default;
meta::Backend& MetaStore::backend() { return *backend_; }

absl::StatusOr<std::unique_ptr<MetaStore>> MetaStore::Open(const std::string& dir) {
  ASSIGN_OR_RETURN(auto backend, meta::RocksBackend::Open(dir));
  return Open(std::move(backend));
}

absl::StatusOr<std::unique_ptr<MetaStore>> MetaStore::Open(const MetadataConfig& config,
                                                           const std::string& dir) {
  if (config.backend == MetadataConfig::Backend::kRocksDb) return Open(dir);
  ASSIGN_OR_RETURN(auto backend, meta::PgBackend::Open(config.postgres));
  return Open(std::move(backend));
}

absl::StatusOr<std::unique_ptr<MetaStore>> MetaStore::Open(std::unique_ptr<meta::Backend> backend) {
  // Rows an older gateway wrote are brought to this one's format first.
  RETURN_IF_ERROR(meta::UpgradeFormat(*backend));
  auto store = std::unique_ptr<MetaStore>(new MetaStore(std::move(backend)));
  store->shared_ = dynamic_cast<meta::RocksBackend*>(store->backend_.get()) == nullptr;
  // The deletion queue continues after its last entry.
  auto t = store->backend_->Snapshot();
  ASSIGN_OR_RETURN(auto deletions, meta::deletion_queue::Count(*t));
  store->next_deletion_ = deletions.last + 1;
  store->claimed_end_ = store->next_deletion_;  // nothing claimed yet
  store->backlog_ = deletions.count;
  ASSIGN_OR_RETURN(store->repair_backlog_, meta::repair_queue::Count(*t));
  return store;
}

absl::StatusOr<uint64_t> MetaStore::NextSequence() {
  if (!shared_) return next_deletion_.fetch_add(1);
  std::lock_guard lock(claim_mu_);
  if (next_deletion_ >= claimed_end_) {
    ASSIGN_OR_RETURN(uint64_t first, ClaimSequences());
    next_deletion_ = first;
    claimed_end_ = first + meta::sequences::kBlock;
  }
  return next_deletion_.fetch_add(1);
}

absl::StatusOr<uint64_t> MetaStore::ClaimSequences() {
  // Its own short transaction (on another connection): the claim row is hot, and must not
  // stay locked for the whole of the transaction that needs a sequence.
  uint64_t first = 0;
  RETURN_IF_ERROR(backend_->Run([&](Transaction& t) -> absl::Status {
    ASSIGN_OR_RETURN(first,
                     meta::sequences::Claim(t, meta::sequences::kDeletion, next_deletion_.load()));
    return absl::OkStatus();
  }));
  return first;
}

absl::Status MetaStore::Write(const std::function<absl::Status(Transaction&, Tally&)>& body) {
  Tally tally;
  RETURN_IF_ERROR(backend_->Run([&](Transaction& t) {
    tally = Tally();
    return body(t, tally);
  }));
  backlog_ += tally.queued;
  repair_backlog_ += tally.repairs;
  return absl::OkStatus();
}

absl::Status MetaStore::ApplyReferences(Transaction& t, pieces::References& refs, Tally& tally,
                                        const std::string& bucket) {
  ASSIGN_OR_RETURN(uint64_t queued, refs.Apply(t, [this] { return NextSequence(); }));
  tally.queued += static_cast<int64_t>(queued);
  // Last: the usage row is the transaction's last lock (usage.h).
  return meta::usage::Add(t, bucket, {refs.byte_delta(), refs.object_delta()});
}

absl::Status MetaStore::CreateBucket(const std::string& name, const v1::BucketRecord& r) {
  return Write([&](Transaction& t, Tally&) -> absl::Status {
    ASSIGN_OR_RETURN(auto existing, meta::buckets::Get(t, name, kExclusive));
    if (existing) return absl::AlreadyExistsError("bucket " + name + " exists");
    return meta::buckets::Put(t, name, r);
  });
}

absl::StatusOr<std::optional<v1::BucketRecord>> MetaStore::GetBucket(
    const std::string& name) const {
  return meta::buckets::Get(*backend_->Snapshot(), name);
}

absl::Status MetaStore::DeleteBucket(const std::string& name) {
  return Write([&](Transaction& t, Tally& tally) -> absl::Status {
    ASSIGN_OR_RETURN(auto existing, meta::buckets::Get(t, name, kExclusive));
    if (!existing) return absl::NotFoundError("no bucket " + name);
    ASSIGN_OR_RETURN(auto objects, objects::List(t, name, "", "", 1));
    ASSIGN_OR_RETURN(auto versions, meta::versions::List(t, name, "", "", 1));
    if (!objects.empty() || !versions.empty()) {
      return absl::FailedPreconditionError("bucket " + name + " is not empty");
    }
    RETURN_IF_ERROR(meta::buckets::Delete(t, name));
    // Uploads in progress go with the bucket: their parts' data is queued for deletion.
    ASSIGN_OR_RETURN(auto in_progress, uploads::List(t, name, "", "", "", SIZE_MAX));
    std::vector<std::vector<v1::ObjectPart>> parts;
    parts.reserve(in_progress.size());  // References keeps pointers into these
    pieces::References refs;
    for (const auto& u : in_progress) {
      ASSIGN_OR_RETURN(parts.emplace_back(), DropUpload(t, name, u.key, u.record.upload_id()));
      for (const auto& part : parts.back()) refs.Add(part, -1);
    }
    RETURN_IF_ERROR(meta::usage::Clear(t, name));
    return ApplyReferences(t, refs, tally, name);
  });
}

absl::StatusOr<std::vector<std::pair<std::string, v1::BucketRecord>>> MetaStore::ListBuckets()
    const {
  return meta::buckets::List(*backend_->Snapshot());
}

absl::StatusOr<std::optional<v1::ObjectRecord>> MetaStore::GetObject(const std::string& bucket,
                                                                     const std::string& key,
                                                                     Hydration hydration,
                                                                     const PartRange& parts) const {
  auto t = backend_->Snapshot();
  ASSIGN_OR_RETURN(auto record, objects::Get(*t, bucket, key));
  if (record && hydration == Hydration::kManifests) {
    RETURN_IF_ERROR(HydrateParts(*t, *record, parts));
  }
  return record;
}

absl::Status MetaStore::HydrateParts(Transaction& t, v1::ObjectRecord& record,
                                     const PartRange& parts) {
  auto [first, last] = parts ? parts(record) : std::pair<int, int>(0, record.parts_size());
  first = std::clamp(first, 0, record.parts_size());
  last = std::clamp(last, first, record.parts_size());
  for (int i = first; i < last; ++i) RETURN_IF_ERROR(pieces::Hydrate(t, *record.mutable_parts(i)));
  return absl::OkStatus();
}

namespace {

// The quota error (usage.h) when committing `record` over `old` would take the bucket over a
// quota. Only a bucket with a quota reads its counters. A version replacing a suspended
// bucket's null version is counted whole (the quota may refuse it a little early).
absl::Status CheckQuota(Transaction& t, const v1::BucketRecord& b, const std::string& bucket,
                        const v1::ObjectRecord& record,
                        const std::optional<v1::ObjectRecord>& old) {
  if (b.quota_bytes() == 0 && b.quota_objects() == 0) return absl::OkStatus();
  meta::usage::Usage delta{static_cast<int64_t>(record.size()), 1};
  if (old && b.versioning() == v1::BucketRecord::UNVERSIONED) {
    delta = {delta.bytes - static_cast<int64_t>(old->size()), 0};
  }
  ASSIGN_OR_RETURN(auto now, meta::usage::Get(t, bucket));
  return meta::usage::CheckQuota(bucket, b, now, delta);
}

}  // namespace

absl::StatusOr<v1::BucketUsage> MetaStore::BucketUsage(const std::string& bucket) const {
  ASSIGN_OR_RETURN(auto sum, meta::usage::Get(*backend_->Snapshot(), bucket));
  v1::BucketUsage out;
  out.set_bytes(sum.bytes);
  out.set_objects(sum.objects);
  return out;
}

absl::StatusOr<std::string> MetaStore::CommitObject(Transaction& t, pieces::References& refs,
                                                    Tally& tally, const std::string& bucket,
                                                    const std::string& key,
                                                    const v1::ObjectRecord& record,
                                                    const PutCheck& check) {
  ASSIGN_OR_RETURN(v1::BucketRecord b, RequireBucket(t, bucket));
  ASSIGN_OR_RETURN(auto old, objects::Get(t, bucket, key, kExclusive));
  if (check) RETURN_IF_ERROR(check(old));
  RETURN_IF_ERROR(CheckQuota(t, b, bucket, record, old));
  std::string version_id;
  v1::ObjectRecord versioned;  // the record as committed, referenced by `refs` until applied
  if (b.versioning() == v1::BucketRecord::UNVERSIONED) {
    RETURN_IF_ERROR(objects::Put(t, bucket, key, record));
    refs.Add(record, +1);
    if (old) refs.Add(*old, -1);
  } else {
    versioned = record;
    ASSIGN_OR_RETURN(version_id, CommitVersion(t, refs, b, bucket, key, old, versioned));
  }
  RETURN_IF_ERROR(ApplyReferences(t, refs, tally, bucket));
  return version_id;
}

absl::StatusOr<std::string> MetaStore::PutObject(const std::string& bucket, const std::string& key,
                                                 const v1::ObjectRecord& record,
                                                 const PutCheck& check) {
  std::string version_id;
  RETURN_IF_ERROR(Write([&](Transaction& t, Tally& tally) -> absl::Status {
    pieces::References refs;
    ASSIGN_OR_RETURN(version_id, CommitObject(t, refs, tally, bucket, key, record, check));
    return absl::OkStatus();
  }));
  return version_id;
}

absl::StatusOr<std::string> MetaStore::CopyObject(const std::string& src_bucket,
                                                  const std::string& src_key,
                                                  const std::string& bucket, const std::string& key,
                                                  const CopyBuild& build, const PutCheck& check,
                                                  const std::optional<std::string>& src_version) {
  std::string version_id;
  RETURN_IF_ERROR(Write([&](Transaction& t, Tally& tally) -> absl::Status {
    // Both rows locked, in key order (two copies crossing do not deadlock): the source's
    // pieces stay referenced until this commits.
    if (std::tie(bucket, key) < std::tie(src_bucket, src_key)) {
      RETURN_IF_ERROR(objects::Get(t, bucket, key, kExclusive).status());
    }
    ASSIGN_OR_RETURN(auto source, objects::Get(t, src_bucket, src_key, kExclusive));
    if (src_version) {
      ASSIGN_OR_RETURN(source, meta::FindVersion(t, src_bucket, src_key, source, *src_version));
    }
    if (source) {
      for (auto& part : *source->mutable_parts()) RETURN_IF_ERROR(pieces::Hydrate(t, part));
    }
    ASSIGN_OR_RETURN(v1::ObjectRecord record, build(source));
    pieces::References refs;
    ASSIGN_OR_RETURN(version_id, CommitObject(t, refs, tally, bucket, key, record, check));
    return absl::OkStatus();
  }));
  return version_id;
}

absl::StatusOr<bool> MetaStore::SetTags(const std::string& bucket, const std::string& key,
                                        const std::vector<v1::Tag>& tags) {
  bool found = false;
  RETURN_IF_ERROR(Write([&](Transaction& t, Tally&) -> absl::Status {
    ASSIGN_OR_RETURN(auto record, objects::Get(t, bucket, key, kExclusive));
    found = record.has_value();
    if (!record) return absl::OkStatus();
    record->clear_tags();
    for (const auto& tag : tags) *record->add_tags() = tag;
    return objects::Put(t, bucket, key, *record);
  }));
  return found;
}

absl::StatusOr<bool> MetaStore::DeleteObject(const std::string& bucket, const std::string& key) {
  ASSIGN_OR_RETURN(DeletedVersion deleted,
                   DeleteVersion(bucket, key, std::nullopt, false, UnixNowMs()));
  return deleted.existed;
}

absl::StatusOr<std::vector<ObjectEntry>> MetaStore::ListObjects(const std::string& bucket,
                                                                const std::string& prefix,
                                                                const std::string& start,
                                                                size_t limit) const {
  return objects::List(*backend_->Snapshot(), bucket, prefix, start, limit);
}

absl::Status MetaStore::CreateUpload(const std::string& bucket, const std::string& key,
                                     const v1::UploadRecord& record) {
  return Write([&](Transaction& t, Tally&) -> absl::Status {
    RETURN_IF_ERROR(RequireBucket(t, bucket).status());
    return uploads::Put(t, bucket, key, record);
  });
}

absl::StatusOr<std::optional<v1::UploadRecord>> MetaStore::GetUpload(
    const std::string& bucket, const std::string& key, const std::string& upload_id) const {
  return uploads::Get(*backend_->Snapshot(), bucket, key, upload_id);
}

absl::Status MetaStore::PutPart(const std::string& bucket, const std::string& key,
                                const std::string& upload_id, const v1::ObjectPart& part) {
  return Write([&](Transaction& t, Tally& tally) -> absl::Status {
    ASSIGN_OR_RETURN(auto upload, uploads::Get(t, bucket, key, upload_id, kShared));
    if (!upload) return absl::NotFoundError("no upload " + upload_id);
    ASSIGN_OR_RETURN(auto old, uploads::GetPart(t, upload_id, part.number(), kExclusive));
    RETURN_IF_ERROR(uploads::PutPart(t, upload_id, part));
    pieces::References refs;
    refs.Add(part, +1);
    if (old) refs.Add(*old, -1);
    return ApplyReferences(t, refs, tally, bucket);
  });
}

absl::StatusOr<std::vector<v1::ObjectPart>> MetaStore::ListParts(const std::string& upload_id,
                                                                 uint32_t after,
                                                                 size_t limit) const {
  auto t = backend_->Snapshot();
  // Only the parts after the marker are read and hydrated.
  ASSIGN_OR_RETURN(auto parts, uploads::ListParts(*t, upload_id, after, limit));
  for (auto& part : parts) RETURN_IF_ERROR(pieces::Hydrate(*t, part));
  return parts;
}

absl::StatusOr<std::vector<UploadEntry>> MetaStore::ListUploads(const std::string& bucket,
                                                                const std::string& prefix,
                                                                const std::string& key_marker,
                                                                const std::string& upload_marker,
                                                                size_t limit) const {
  return uploads::List(*backend_->Snapshot(), bucket, prefix, key_marker, upload_marker, limit);
}

absl::StatusOr<std::vector<UploadEntry>> MetaStore::UploadsInitiatedBefore(int64_t before_ms,
                                                                           size_t limit) const {
  return uploads::InitiatedBefore(*backend_->Snapshot(), before_ms, limit);
}

absl::StatusOr<std::vector<v1::ObjectPart>> MetaStore::DropUpload(Transaction& t,
                                                                  const std::string& bucket,
                                                                  const std::string& key,
                                                                  const std::string& upload_id) {
  RETURN_IF_ERROR(uploads::Get(t, bucket, key, upload_id, kExclusive).status());
  ASSIGN_OR_RETURN(auto parts, uploads::ListParts(t, upload_id, 0, SIZE_MAX));
  RETURN_IF_ERROR(uploads::Delete(t, bucket, key, upload_id));
  for (const auto& part : parts) RETURN_IF_ERROR(uploads::DeletePart(t, upload_id, part.number()));
  return parts;
}

absl::StatusOr<std::string> MetaStore::CompleteUpload(const std::string& bucket,
                                                      const std::string& key,
                                                      const std::string& upload_id,
                                                      const CompleteBuild& build,
                                                      const PutCheck& check) {
  std::string version_id;
  RETURN_IF_ERROR(Write([&](Transaction& t, Tally& tally) -> absl::Status {
    ASSIGN_OR_RETURN(auto upload, uploads::Get(t, bucket, key, upload_id, kExclusive));
    if (!upload) return absl::NotFoundError("no upload " + upload_id);
    ASSIGN_OR_RETURN(std::vector<v1::ObjectPart> parts, DropUpload(t, bucket, key, upload_id));
    for (auto& part : parts) RETURN_IF_ERROR(pieces::Hydrate(t, part));
    ASSIGN_OR_RETURN(v1::ObjectRecord record, build(*upload, parts));
    RETURN_IF_ERROR(meta::completed_uploads::Put(t, Completed(bucket, key, upload_id, record)));
    pieces::References refs;
    for (const auto& part : parts) refs.Add(part, -1);
    ASSIGN_OR_RETURN(version_id, CommitObject(t, refs, tally, bucket, key, record, check));
    return absl::OkStatus();
  }));
  return version_id;
}

absl::StatusOr<std::optional<v1::CompletedUploadRecord>> MetaStore::GetCompletedUpload(
    const std::string& upload_id) const {
  return meta::completed_uploads::Get(*backend_->Snapshot(), upload_id);
}

absl::StatusOr<uint64_t> MetaStore::ExpireCompletedUploads(int64_t before_ms, size_t limit) {
  uint64_t removed = 0;
  RETURN_IF_ERROR(Write([&](Transaction& t, Tally&) -> absl::Status {
    ASSIGN_OR_RETURN(removed, meta::completed_uploads::Expire(t, before_ms, limit));
    return absl::OkStatus();
  }));
  return removed;
}

absl::StatusOr<bool> MetaStore::AbortUpload(const std::string& bucket, const std::string& key,
                                            const std::string& upload_id) {
  bool found = false;
  RETURN_IF_ERROR(Write([&](Transaction& t, Tally& tally) -> absl::Status {
    ASSIGN_OR_RETURN(auto upload, uploads::Get(t, bucket, key, upload_id, kExclusive));
    found = upload.has_value();
    if (!upload) return absl::OkStatus();
    ASSIGN_OR_RETURN(auto parts, DropUpload(t, bucket, key, upload_id));
    pieces::References refs;
    for (const auto& part : parts) refs.Add(part, -1);
    return ApplyReferences(t, refs, tally, bucket);
  }));
  return found;
}

absl::StatusOr<uint64_t> MetaStore::References(const std::string& piece_id) const {
  ASSIGN_OR_RETURN(auto piece, GetPiece(piece_id));
  return piece ? piece->references() : 0;
}

absl::StatusOr<std::optional<v1::PieceRecord>> MetaStore::GetPiece(
    const std::string& piece_id) const {
  return pieces::Get(*backend_->Snapshot(), piece_id);
}

absl::StatusOr<std::vector<std::pair<std::string, v1::PieceRecord>>> MetaStore::ListPieces(
    const std::string& after, size_t limit) const {
  return pieces::List(*backend_->Snapshot(), after, limit);
}

absl::Status MetaStore::PutKey(const v1::AccessKeyRecord& r) {
  return Write([&](Transaction& t, Tally&) { return meta::access_keys::Put(t, r); });
}

absl::StatusOr<std::optional<v1::AccessKeyRecord>> MetaStore::GetKey(const std::string& id) const {
  return meta::access_keys::Get(*backend_->Snapshot(), id);
}

absl::StatusOr<std::vector<v1::AccessKeyRecord>> MetaStore::ListKeys() const {
  return meta::access_keys::List(*backend_->Snapshot());
}

absl::StatusOr<bool> MetaStore::DeleteKey(const std::string& id) {
  bool found = false;
  RETURN_IF_ERROR(Write([&](Transaction& t, Tally&) -> absl::Status {
    ASSIGN_OR_RETURN(auto existing, meta::access_keys::Get(t, id, kExclusive));
    found = existing.has_value();
    return found ? meta::access_keys::Delete(t, id) : absl::OkStatus();
  }));
  return found;
}

absl::StatusOr<std::optional<LeaseEntry>> MetaStore::GetLease(const std::string& job) const {
  return meta::leases::Get(*backend_->Snapshot(), job, /*lock=*/false);
}

absl::StatusOr<bool> MetaStore::SwapLease(const std::string& job, uint64_t expected_beat,
                                          const LeaseEntry& lease) {
  bool swapped = false;
  RETURN_IF_ERROR(backend_->Run([&](Transaction& t) -> absl::Status {
    ASSIGN_OR_RETURN(auto current, meta::leases::Get(t, job, /*lock=*/true));
    swapped = (current ? current->beat : 0) == expected_beat;
    return swapped ? meta::leases::Put(t, job, lease) : absl::OkStatus();
  }));
  return swapped;
}

absl::StatusOr<std::map<std::string, LeaseEntry>> MetaStore::Leases() const {
  return meta::leases::List(*backend_->Snapshot());
}

absl::Status MetaStore::QueueDeletion(const v1::Manifest& manifest) {
  return Write([&](Transaction& t, Tally& tally) -> absl::Status {
    v1::DeletionRecord d;
    *d.mutable_manifest() = manifest;
    ++tally.queued;
    ASSIGN_OR_RETURN(uint64_t seq, NextSequence());
    return meta::deletion_queue::Put(t, seq, d);
  });
}

absl::StatusOr<std::vector<std::pair<uint64_t, v1::DeletionRecord>>> MetaStore::PendingDeletions(
    size_t limit) const {
  return meta::deletion_queue::Pending(*backend_->Snapshot(), limit);
}

absl::Status MetaStore::FinishDeletion(uint64_t seq,
                                       const std::optional<v1::DeletionRecord>& retry) {
  // Finishing an entry that is gone (twice, or never queued) changes nothing: the backlog
  // counts entries, and must not wrap below zero.
  return Write([&](Transaction& t, Tally& tally) -> absl::Status {
    ASSIGN_OR_RETURN(bool exists, meta::deletion_queue::Lock(t, seq));
    if (!exists) return absl::OkStatus();
    RETURN_IF_ERROR(meta::deletion_queue::Delete(t, seq));
    if (retry) {
      ASSIGN_OR_RETURN(uint64_t next, NextSequence());
      return meta::deletion_queue::Put(t, next, *retry);
    }
    --tally.queued;
    return absl::OkStatus();
  });
}

uint64_t MetaStore::DeletionBacklog() const { return backlog_.load(); }

absl::Status MetaStore::QueueRepair(const v1::RepairRecord& record) {
  return Write([&](Transaction& t, Tally& tally) -> absl::Status {
    ASSIGN_OR_RETURN(bool added, meta::repair_queue::Queue(t, record));
    if (added) ++tally.repairs;
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<v1::RepairRecord>> MetaStore::PendingRepairs(size_t limit) const {
  return meta::repair_queue::Pending(*backend_->Snapshot(), limit);
}

absl::Status MetaStore::FinishRepair(const v1::RepairRecord& taken,
                                     const std::optional<v1::RepairRecord>& retry) {
  return Write([&](Transaction& t, Tally& tally) -> absl::Status {
    ASSIGN_OR_RETURN(bool removed, meta::repair_queue::Finish(t, taken, retry));
    if (removed) --tally.repairs;
    return absl::OkStatus();
  });
}

uint64_t MetaStore::RepairBacklog() const { return repair_backlog_.load(); }

absl::Status MetaStore::SetNodeState(const std::string& node_id,
                                     const v1::NodeStateRecord& record) {
  return Write([&](Transaction& t, Tally&) { return meta::node_states::Put(t, node_id, record); });
}

absl::StatusOr<std::map<std::string, v1::NodeStateRecord>> MetaStore::NodeStates() const {
  return meta::node_states::List(*backend_->Snapshot());
}

absl::Status MetaStore::SetDeclaredDown(const std::string& node_id,
                                        std::optional<uint64_t> declared_ms) {
  return Write([&](Transaction& t, Tally&) {
    return declared_ms ? meta::down_nodes::Put(t, node_id, *declared_ms)
                       : meta::down_nodes::Delete(t, node_id);
  });
}

absl::StatusOr<std::map<std::string, uint64_t>> MetaStore::DeclaredDown() const {
  return meta::down_nodes::List(*backend_->Snapshot());
}

}  // namespace mosaic::gateway
