#include "server/gateway/meta/meta_store.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <spdlog/spdlog.h>

#include <map>
#include <set>
#include <type_traits>

#include "common/bytes.h"
#include "common/status.h"
#include "server/gateway/meta/internal/rocks.h"

namespace mosaic::gateway {
namespace {

// Key schema: one tag byte, then the fields.
//   b <bucket>                -> BucketRecord
//   o <bucket> \0 <key>       -> ObjectRecord   (bucket names never contain NUL)
//   a <access key id>         -> AccessKeyRecord
//   d <seq u64 BE>            -> DeletionRecord
//   m <piece id>              -> PieceRecord: the piece's manifest and its reference count
//                                (object and part records store only the piece id)
//   u <bucket> \0 <key> \0 <upload id>  -> UploadRecord (upload ids are hex: no NUL)
//   p <upload id> \0 <part number u32 BE> -> ObjectPart
//   q <margin u32 BE> <stripe id>   -> RepairRecord  (stripe id = stripe u64 BE, piece id)
//   Q <stripe id>                   -> u32 BE margin of the stripe's q entry
//   n <node id>                     -> NodeStateRecord (drain / remove)
//   B                               -> BackupState (meta_backup.cc)
constexpr char kBucket = 'b';
constexpr char kObject = 'o';
constexpr char kAccessKey = 'a';
constexpr char kDeletion = 'd';
constexpr char kPiece = 'm';
constexpr char kUpload = 'u';
constexpr char kPart = 'p';
constexpr char kRepair = 'q';       // q <margin u32 BE> <stripe id>  -> RepairRecord
constexpr char kRepairIndex = 'Q';  // Q <stripe id>                  -> margin u32 BE
constexpr char kNodeState = 'n';

using internal::FromRocks;
using internal::S;
using internal::V;

std::string BucketKey(const std::string& b) { return std::string(1, kBucket) + b; }
std::string ObjectPrefix(const std::string& b) {
  std::string k(1, kObject);
  k += b;
  k.push_back('\0');
  return k;
}
std::string ObjectKey(const std::string& b, const std::string& key) {
  return ObjectPrefix(b) + key;
}
std::string PieceKey(const std::string& piece_id) { return std::string(1, kPiece) + piece_id; }

std::string PieceIdOf(const v1::ObjectPart& part) {
  return part.piece_id().empty() ? part.manifest().object_id() : part.piece_id();
}

// The record as stored: pieces by id only.
template <typename Record>
std::string Stored(Record record) {
  auto strip = [](v1::ObjectPart& part) {
    part.set_piece_id(PieceIdOf(part));
    part.clear_manifest();
  };
  if constexpr (std::is_same_v<Record, v1::ObjectPart>) {
    strip(record);
  } else {
    for (auto& part : *record.mutable_parts()) strip(part);
  }
  return record.SerializeAsString();
}
std::string UploadPrefix(const std::string& b) {
  std::string k(1, kUpload);
  k += b;
  k.push_back('\0');
  return k;
}
std::string UploadKey(const std::string& b, const std::string& key, const std::string& id) {
  return UploadPrefix(b) + key + std::string(1, '\0') + id;
}
std::string EncodeBE32(uint32_t v) {
  std::string k;
  for (int shift = 24; shift >= 0; shift -= 8) k.push_back(static_cast<char>(v >> shift));
  return k;
}
std::string PartPrefix(const std::string& upload_id) {
  return std::string(1, kPart) + upload_id + std::string(1, '\0');
}
std::string PartKey(const std::string& upload_id, uint32_t number) {
  std::string k = PartPrefix(upload_id);
  return k + EncodeBE32(number);
}
std::string StripeId(const std::string& piece_id, uint64_t stripe) {
  std::string k;
  AppendBE64(k, stripe);
  return k + piece_id;
}
std::string RepairKey(uint32_t margin, const std::string& stripe_id) {
  return std::string(1, kRepair) + EncodeBE32(margin) + stripe_id;
}
uint32_t LoadBE32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
std::string DeletionKey(uint64_t seq) {
  std::string k(1, kDeletion);
  AppendBE64(k, seq);
  return k;
}

template <typename Message>
absl::StatusOr<Message> Parse(std::string_view bytes, const char* what) {
  Message m;
  if (!m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(std::string("metadata: malformed ") + what + " record");
  }
  return m;
}

template <typename Message>
absl::StatusOr<std::optional<Message>> Get(rocksdb::DB& db, const std::string& key,
                                           const char* what) {
  std::string value;
  rocksdb::Status s = db.Get(rocksdb::ReadOptions(), S(key), &value);
  if (s.IsNotFound()) return std::nullopt;
  RETURN_IF_ERROR(FromRocks(s, std::string("get ") + what));
  ASSIGN_OR_RETURN(Message m, Parse<Message>(value, what));
  return m;
}

rocksdb::WriteOptions Synced() {
  rocksdb::WriteOptions o;
  o.sync = true;
  return o;
}

}  // namespace

// A write batch that also counts reference changes to pieces, applied at Commit: a piece
// whose count reaches zero is queued for deletion in the same write.
class MetaStore::Batch {
 public:
  explicit Batch(MetaStore& store) : store_(store) {}
  rocksdb::WriteBatch& writes() { return writes_; }

  void Reference(const v1::ObjectPart& part, int delta) {
    auto& [d, manifest] = deltas_[PieceIdOf(part)];
    d += delta;
    if (part.has_manifest()) manifest = &part.manifest();
  }
  void Reference(const v1::ObjectRecord& record, int delta) {
    for (const auto& part : record.parts()) Reference(part, delta);
  }

  // Applies the counts and writes everything, synced. The records whose manifests were
  // passed to Reference must still be alive. A piece already stored keeps its stored
  // manifest (repair may have moved shards since the caller read it).
  absl::Status Commit(const char* what) {
    uint64_t queued = 0;
    for (const auto& [id, change] : deltas_) {
      const auto& [delta, manifest] = change;
      if (delta == 0) continue;
      ASSIGN_OR_RETURN(auto piece, Get<v1::PieceRecord>(*store_.db_, PieceKey(id), "piece"));
      int64_t count = piece ? static_cast<int64_t>(piece->references()) : 0;
      if (!piece) {
        if (manifest == nullptr) {
          return absl::DataLossError("metadata: a record names a piece that is not stored");
        }
        piece.emplace();
        *piece->mutable_manifest() = *manifest;
      }
      count += delta;
      if (count > 0) {
        piece->set_references(static_cast<uint64_t>(count));
        writes_.Put(S(PieceKey(id)), piece->SerializeAsString());
        continue;
      }
      if (count < 0) spdlog::error("metadata: a piece had fewer references than released");
      writes_.Delete(S(PieceKey(id)));
      v1::DeletionRecord d;
      *d.mutable_manifest() = piece->manifest();
      writes_.Put(S(DeletionKey(store_.NextSequence())), d.SerializeAsString());
      ++queued;
    }
  RETURN_IF_ERROR(FromRocks(store_.db_->Write(Synced(), &writes_), what));
    store_.backlog_ += queued;
    return absl::OkStatus();
  }

 private:
  MetaStore& store_;
  rocksdb::WriteBatch writes_;
  std::map<std::string, std::pair<int64_t, const v1::Manifest*>> deltas_;
};

std::string PrefixSuccessor(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (prefix.empty()) return "";
  prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

MetaStore::MetaStore(std::unique_ptr<rocksdb::DB> db) : db_(std::move(db)) {}
MetaStore::~MetaStore() = default;

absl::StatusOr<std::unique_ptr<MetaStore>> MetaStore::Open(const std::string& dir) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  options.keep_log_file_num = 4;
  // The metadata backup's increments are read back from the WAL (GetUpdatesSince): keep
  // archived logs for a day or 1 GiB, far beyond the backup lag. When they are gone anyway
  // the backup takes a new snapshot.
  options.WAL_ttl_seconds = 24 * 3600;
  options.WAL_size_limit_MB = 1024;
  rocksdb::DB* raw = nullptr;
  RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(options, dir, &raw), "open " + dir));
  auto store = std::unique_ptr<MetaStore>(new MetaStore(std::unique_ptr<rocksdb::DB>(raw)));
  // The deletion queue continues after its last entry.
  std::unique_ptr<rocksdb::Iterator> it(store->db_->NewIterator(rocksdb::ReadOptions()));
  uint64_t count = 0;
  for (it->Seek(S(std::string(1, kDeletion))); it->Valid() && V(it->key())[0] == kDeletion;
       it->Next()) {
    if (it->key().size() == 9) store->next_deletion_ = LoadBE64(it->key().data() + 1) + 1;
    ++count;
  }
  store->backlog_ = count;
  uint64_t repairs = 0;
  for (it->Seek(S(std::string(1, kRepairIndex)));
       it->Valid() && V(it->key())[0] == kRepairIndex; it->Next()) {
    ++repairs;
  }
  store->repair_backlog_ = repairs;
  return store;
}

uint64_t MetaStore::NextSequence() { return next_deletion_++; }

absl::Status MetaStore::CreateBucket(const std::string& name, const v1::BucketRecord& r) {
  std::lock_guard lock(write_mu_);
  ASSIGN_OR_RETURN(auto existing, Get<v1::BucketRecord>(*db_, BucketKey(name), "bucket"));
  if (existing) return absl::AlreadyExistsError("bucket " + name + " exists");
  return FromRocks(db_->Put(Synced(), S(BucketKey(name)), r.SerializeAsString()), "put bucket");
}

absl::StatusOr<std::optional<v1::BucketRecord>> MetaStore::GetBucket(
    const std::string& name) const {
  return Get<v1::BucketRecord>(*db_, BucketKey(name), "bucket");
}

absl::Status MetaStore::DeleteBucket(const std::string& name) {
  std::lock_guard lock(write_mu_);
  ASSIGN_OR_RETURN(auto existing, Get<v1::BucketRecord>(*db_, BucketKey(name), "bucket"));
  if (!existing) return absl::NotFoundError("no bucket " + name);
  ASSIGN_OR_RETURN(auto objects, ListObjects(name, "", "", 1));
  if (!objects.empty()) return absl::FailedPreconditionError("bucket " + name + " is not empty");
  // Uploads in progress go with the bucket: their parts' data is queued for deletion.
  ASSIGN_OR_RETURN(auto uploads, ListUploads(name, "", "", "", SIZE_MAX));
  std::vector<std::vector<v1::ObjectPart>> parts;
  parts.reserve(uploads.size());  // Batch keeps pointers into these
  Batch batch(*this);
  batch.writes().Delete(S(BucketKey(name)));
  for (const auto& u : uploads) {
    batch.writes().Delete(S(UploadKey(name, u.key, u.record.upload_id())));
    ASSIGN_OR_RETURN(parts.emplace_back(), ListParts(u.record.upload_id(), 0, SIZE_MAX));
    for (const auto& part : parts.back()) {
      batch.writes().Delete(S(PartKey(u.record.upload_id(), part.number())));
      batch.Reference(part, -1);
    }
  }
  return batch.Commit("delete bucket");
}

absl::StatusOr<std::vector<std::pair<std::string, v1::BucketRecord>>> MetaStore::ListBuckets()
    const {
  std::vector<std::pair<std::string, v1::BucketRecord>> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(S(std::string(1, kBucket))); it->Valid() && V(it->key())[0] == kBucket;
       it->Next()) {
    ASSIGN_OR_RETURN(auto r, Parse<v1::BucketRecord>(V(it->value()), "bucket"));
    out.emplace_back(std::string(V(it->key()).substr(1)), std::move(r));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "list buckets"));
  return out;
}

absl::StatusOr<std::optional<v1::ObjectRecord>> MetaStore::GetObject(
    const std::string& bucket, const std::string& key) const {
  ASSIGN_OR_RETURN(auto record, Get<v1::ObjectRecord>(*db_, ObjectKey(bucket, key), "object"));
  if (record) {
    for (auto& part : *record->mutable_parts()) RETURN_IF_ERROR(Hydrate(part));
  }
  return record;
}

absl::Status MetaStore::CommitObject(Batch& batch, const std::string& bucket,
                                     const std::string& key, const v1::ObjectRecord& record,
                                     const PutCheck& check) {
  ASSIGN_OR_RETURN(auto b, Get<v1::BucketRecord>(*db_, BucketKey(bucket), "bucket"));
  if (!b) return absl::NotFoundError("no bucket " + bucket);
  ASSIGN_OR_RETURN(auto old, Get<v1::ObjectRecord>(*db_, ObjectKey(bucket, key), "object"));
  if (check) RETURN_IF_ERROR(check(old));
  batch.writes().Put(S(ObjectKey(bucket, key)), Stored(record));
  batch.Reference(record, +1);
  if (old) batch.Reference(*old, -1);
  return batch.Commit("put object");
}

absl::Status MetaStore::PutObject(const std::string& bucket, const std::string& key,
                                  const v1::ObjectRecord& record, const PutCheck& check) {
  std::lock_guard lock(write_mu_);
  Batch batch(*this);
  return CommitObject(batch, bucket, key, record, check);
}

absl::Status MetaStore::CopyObject(const std::string& src_bucket, const std::string& src_key,
                                   const std::string& bucket, const std::string& key,
                                   const CopyBuild& build, const PutCheck& check) {
  std::lock_guard lock(write_mu_);
  ASSIGN_OR_RETURN(auto source,
                   GetObject(src_bucket, src_key));
  ASSIGN_OR_RETURN(v1::ObjectRecord record, build(source));
  Batch batch(*this);
  return CommitObject(batch, bucket, key, record, check);
}

absl::StatusOr<bool> MetaStore::SetTags(const std::string& bucket, const std::string& key,
                                        const std::vector<v1::Tag>& tags) {
  std::lock_guard lock(write_mu_);
  ASSIGN_OR_RETURN(auto record, Get<v1::ObjectRecord>(*db_, ObjectKey(bucket, key), "object"));
  if (!record) return false;
  record->clear_tags();
  for (const auto& t : tags) *record->add_tags() = t;
  RETURN_IF_ERROR(FromRocks(db_->Put(Synced(), S(ObjectKey(bucket, key)), Stored(*record)),
                            "put tags"));
  return true;
}

absl::StatusOr<bool> MetaStore::DeleteObject(const std::string& bucket, const std::string& key) {
  std::lock_guard lock(write_mu_);
  ASSIGN_OR_RETURN(auto old, Get<v1::ObjectRecord>(*db_, ObjectKey(bucket, key), "object"));
  if (!old) return false;
  Batch batch(*this);
  batch.writes().Delete(S(ObjectKey(bucket, key)));
  batch.Reference(*old, -1);
  RETURN_IF_ERROR(batch.Commit("delete object"));
  return true;
}

absl::StatusOr<std::vector<ObjectEntry>> MetaStore::ListObjects(const std::string& bucket,
                                                                const std::string& prefix,
                                                                const std::string& start,
                                                                size_t limit) const {
  std::string base = ObjectPrefix(bucket);
  std::string first = base + std::max(prefix, start);
  std::vector<ObjectEntry> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(S(first)); it->Valid() && out.size() < limit; it->Next()) {
    std::string_view k = V(it->key());
    if (!k.starts_with(base)) break;
    std::string_view key = k.substr(base.size());
    if (!key.starts_with(prefix)) break;
    ASSIGN_OR_RETURN(auto r, Parse<v1::ObjectRecord>(V(it->value()), "object"));
    out.push_back({std::string(key), std::move(r)});
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "list objects"));
  return out;
}

absl::Status MetaStore::CreateUpload(const std::string& bucket, const std::string& key,
                                     const v1::UploadRecord& record) {
  std::lock_guard lock(write_mu_);
  ASSIGN_OR_RETURN(auto b, Get<v1::BucketRecord>(*db_, BucketKey(bucket), "bucket"));
  if (!b) return absl::NotFoundError("no bucket " + bucket);
  return FromRocks(db_->Put(Synced(), S(UploadKey(bucket, key, record.upload_id())),
                            record.SerializeAsString()),
                   "create upload");
}

absl::StatusOr<std::optional<v1::UploadRecord>> MetaStore::GetUpload(
    const std::string& bucket, const std::string& key, const std::string& upload_id) const {
  return Get<v1::UploadRecord>(*db_, UploadKey(bucket, key, upload_id), "upload");
}

absl::Status MetaStore::PutPart(const std::string& bucket, const std::string& key,
                                const std::string& upload_id, const v1::ObjectPart& part) {
  std::lock_guard lock(write_mu_);
  ASSIGN_OR_RETURN(auto upload,
                   Get<v1::UploadRecord>(*db_, UploadKey(bucket, key, upload_id), "upload"));
  if (!upload) return absl::NotFoundError("no upload " + upload_id);
  std::string part_key = PartKey(upload_id, part.number());
  ASSIGN_OR_RETURN(auto old, Get<v1::ObjectPart>(*db_, part_key, "part"));
  Batch batch(*this);
  batch.writes().Put(S(part_key), Stored(part));
  batch.Reference(part, +1);
  if (old) batch.Reference(*old, -1);
  return batch.Commit("put part");
}

absl::StatusOr<std::vector<v1::ObjectPart>> MetaStore::ListParts(const std::string& upload_id,
                                                                 uint32_t after,
                                                                 size_t limit) const {
  std::string prefix = PartPrefix(upload_id);
  std::vector<v1::ObjectPart> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(S(PartKey(upload_id, after))); it->Valid() && out.size() < limit; it->Next()) {
    std::string_view k = V(it->key());
    if (!k.starts_with(prefix)) break;
    ASSIGN_OR_RETURN(auto part, Parse<v1::ObjectPart>(V(it->value()), "part"));
    RETURN_IF_ERROR(Hydrate(part));
    if (part.number() <= after) continue;
    out.push_back(std::move(part));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "list parts"));
  return out;
}

namespace {

// Splits a `u` key into bucket, key and upload id; false if it is malformed.
bool SplitUploadKey(std::string_view k, UploadEntry& out) {
  k.remove_prefix(1);
  size_t first = k.find('\0'), last = k.rfind('\0');
  if (first == std::string_view::npos || first == last) return false;
  out.bucket = std::string(k.substr(0, first));
  out.key = std::string(k.substr(first + 1, last - first - 1));
  return true;
}

}  // namespace

absl::StatusOr<std::vector<UploadEntry>> MetaStore::ListUploads(
    const std::string& bucket, const std::string& prefix, const std::string& key_marker,
    const std::string& upload_marker, size_t limit) const {
  std::string base = UploadPrefix(bucket);
  std::string start = base + prefix;
  if (!key_marker.empty()) {
    // After the marker's uploads (all of them without an upload marker).
    std::string after = upload_marker.empty()
                            ? PrefixSuccessor(base + key_marker + std::string(1, '\0'))
                            : UploadKey(bucket, key_marker, upload_marker) + std::string(1, '\0');
    start = std::max(start, after);
  }
  std::vector<UploadEntry> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(S(start)); it->Valid() && out.size() < limit; it->Next()) {
    std::string_view k = V(it->key());
    if (!k.starts_with(base)) break;
    UploadEntry e;
    if (!SplitUploadKey(k, e)) return absl::DataLossError("metadata: malformed upload key");
    if (!e.key.starts_with(prefix)) break;
    ASSIGN_OR_RETURN(e.record, Parse<v1::UploadRecord>(V(it->value()), "upload"));
    out.push_back(std::move(e));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "list uploads"));
  return out;
}

absl::StatusOr<std::vector<UploadEntry>> MetaStore::UploadsInitiatedBefore(int64_t before_ms,
                                                                           size_t limit) const {
  std::vector<UploadEntry> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(S(std::string(1, kUpload)));
       it->Valid() && V(it->key())[0] == kUpload && out.size() < limit; it->Next()) {
    UploadEntry e;
    if (!SplitUploadKey(V(it->key()), e)) {
      return absl::DataLossError("metadata: malformed upload key");
    }
    ASSIGN_OR_RETURN(e.record, Parse<v1::UploadRecord>(V(it->value()), "upload"));
    if (e.record.initiated_ms() < before_ms) out.push_back(std::move(e));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "list uploads"));
  return out;
}

namespace {

// Every part of an upload, in order.
absl::StatusOr<std::vector<v1::ObjectPart>> AllParts(const MetaStore& store,
                                                     const std::string& upload_id) {
  return store.ListParts(upload_id, 0, SIZE_MAX);
}

}  // namespace

absl::Status MetaStore::CompleteUpload(const std::string& bucket, const std::string& key,
                                       const std::string& upload_id, const CompleteBuild& build,
                                       const PutCheck& check) {
  std::lock_guard lock(write_mu_);
  std::string upload_key = UploadKey(bucket, key, upload_id);
  ASSIGN_OR_RETURN(auto upload, Get<v1::UploadRecord>(*db_, upload_key, "upload"));
  if (!upload) return absl::NotFoundError("no upload " + upload_id);
  ASSIGN_OR_RETURN(std::vector<v1::ObjectPart> parts, AllParts(*this, upload_id));
  ASSIGN_OR_RETURN(v1::ObjectRecord record, build(*upload, parts));
  Batch batch(*this);
  batch.writes().Delete(S(upload_key));
  for (const auto& part : parts) {
    batch.writes().Delete(S(PartKey(upload_id, part.number())));
    batch.Reference(part, -1);
  }
  return CommitObject(batch, bucket, key, record, check);
}

absl::StatusOr<bool> MetaStore::AbortUpload(const std::string& bucket, const std::string& key,
                                            const std::string& upload_id) {
  std::lock_guard lock(write_mu_);
  std::string upload_key = UploadKey(bucket, key, upload_id);
  ASSIGN_OR_RETURN(auto upload, Get<v1::UploadRecord>(*db_, upload_key, "upload"));
  if (!upload) return false;
  ASSIGN_OR_RETURN(std::vector<v1::ObjectPart> parts, AllParts(*this, upload_id));
  Batch batch(*this);
  batch.writes().Delete(S(upload_key));
  for (const auto& part : parts) {
    batch.writes().Delete(S(PartKey(upload_id, part.number())));
    batch.Reference(part, -1);
  }
  RETURN_IF_ERROR(batch.Commit("abort upload"));
  return true;
}

absl::StatusOr<uint64_t> MetaStore::References(const std::string& piece_id) const {
  ASSIGN_OR_RETURN(auto piece, GetPiece(piece_id));
  return piece ? piece->references() : 0;
}

absl::StatusOr<std::optional<v1::PieceRecord>> MetaStore::GetPiece(
    const std::string& piece_id) const {
  return Get<v1::PieceRecord>(*db_, PieceKey(piece_id), "piece");
}

absl::StatusOr<std::vector<std::pair<std::string, v1::PieceRecord>>> MetaStore::ListPieces(
    const std::string& after, size_t limit) const {
  std::vector<std::pair<std::string, v1::PieceRecord>> out;
  std::string start = PieceKey(after);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(S(start)); it->Valid() && V(it->key())[0] == kPiece && out.size() < limit;
       it->Next()) {
    std::string id(V(it->key()).substr(1));
    if (!after.empty() && id == after) continue;
    ASSIGN_OR_RETURN(auto piece, Parse<v1::PieceRecord>(V(it->value()), "piece"));
    out.emplace_back(std::move(id), std::move(piece));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "list pieces"));
  return out;
}

absl::Status MetaStore::MoveShard(const std::string& piece_id, uint64_t stripe, int shard,
                                  const std::string& from_node, const std::string& to_node) {
  std::lock_guard lock(write_mu_);
  ASSIGN_OR_RETURN(auto piece, GetPiece(piece_id));
  if (!piece) return absl::NotFoundError("the piece is gone");
  auto* stripes = piece->mutable_manifest()->mutable_stripes();
  if (stripe >= uint64_t(stripes->size()) || shard < 0 ||
      shard >= (*stripes)[int(stripe)].nodes_size()) {
    return absl::InvalidArgumentError("no such shard in the piece");
  }
  auto* nodes = (*stripes)[int(stripe)].mutable_nodes();
  if ((*nodes)[shard] != from_node) {
    return absl::FailedPreconditionError("the shard moved meanwhile");
  }
  (*nodes)[shard] = to_node;
  return FromRocks(db_->Put(Synced(), S(PieceKey(piece_id)), piece->SerializeAsString()),
                   "move shard");
}

absl::Status MetaStore::Hydrate(v1::ObjectPart& part) const {
  if (part.piece_id().empty()) return absl::OkStatus();  // carries its manifest
  ASSIGN_OR_RETURN(auto piece, GetPiece(part.piece_id()));
  if (!piece) return absl::DataLossError("metadata: a record names a piece that is not stored");
  *part.mutable_manifest() = std::move(*piece->mutable_manifest());
  return absl::OkStatus();
}

absl::Status MetaStore::PutKey(const v1::AccessKeyRecord& r) {
  std::lock_guard lock(write_mu_);
  return FromRocks(db_->Put(Synced(), S(std::string(1, kAccessKey) + r.id()),
                            r.SerializeAsString()),
                   "put key");
}

absl::StatusOr<std::optional<v1::AccessKeyRecord>> MetaStore::GetKey(const std::string& id) const {
  return Get<v1::AccessKeyRecord>(*db_, std::string(1, kAccessKey) + id, "access key");
}

absl::StatusOr<std::vector<v1::AccessKeyRecord>> MetaStore::ListKeys() const {
  std::vector<v1::AccessKeyRecord> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(S(std::string(1, kAccessKey))); it->Valid() && V(it->key())[0] == kAccessKey;
       it->Next()) {
    ASSIGN_OR_RETURN(auto r, Parse<v1::AccessKeyRecord>(V(it->value()), "access key"));
    out.push_back(std::move(r));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "list keys"));
  return out;
}

absl::StatusOr<bool> MetaStore::DeleteKey(const std::string& id) {
  std::lock_guard lock(write_mu_);
  ASSIGN_OR_RETURN(auto existing, GetKey(id));
  if (!existing) return false;
  RETURN_IF_ERROR(
      FromRocks(db_->Delete(Synced(), S(std::string(1, kAccessKey) + id)), "delete key"));
  return true;
}

absl::Status MetaStore::QueueDeletion(const v1::Manifest& manifest) {
  std::lock_guard lock(write_mu_);
  v1::DeletionRecord d;
  *d.mutable_manifest() = manifest;
  RETURN_IF_ERROR(FromRocks(db_->Put(Synced(), S(DeletionKey(NextSequence())),
                                     d.SerializeAsString()),
                            "queue deletion"));
  ++backlog_;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::pair<uint64_t, v1::DeletionRecord>>> MetaStore::PendingDeletions(
    size_t limit) const {
  std::vector<std::pair<uint64_t, v1::DeletionRecord>> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(S(std::string(1, kDeletion)));
       it->Valid() && V(it->key())[0] == kDeletion && out.size() < limit; it->Next()) {
    if (it->key().size() != 9) return absl::DataLossError("metadata: malformed deletion key");
    ASSIGN_OR_RETURN(auto r, Parse<v1::DeletionRecord>(V(it->value()), "deletion"));
    out.emplace_back(LoadBE64(it->key().data() + 1), std::move(r));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "list deletions"));
  return out;
}

absl::Status MetaStore::FinishDeletion(uint64_t seq,
                                       const std::optional<v1::DeletionRecord>& retry) {
  std::lock_guard lock(write_mu_);
  // Finishing an entry that is gone (twice, or never queued) changes nothing: the backlog
  // counts entries, and must not wrap below zero.
  std::string value;
  rocksdb::Status exists = db_->Get(rocksdb::ReadOptions(), S(DeletionKey(seq)), &value);
  if (exists.IsNotFound()) return absl::OkStatus();
  RETURN_IF_ERROR(FromRocks(exists, "finish deletion"));
  rocksdb::WriteBatch batch;
  batch.Delete(S(DeletionKey(seq)));
  if (retry) batch.Put(S(DeletionKey(NextSequence())), retry->SerializeAsString());
  RETURN_IF_ERROR(FromRocks(db_->Write(Synced(), &batch), "finish deletion"));
  if (!retry) --backlog_;
  return absl::OkStatus();
}

uint64_t MetaStore::DeletionBacklog() const { return backlog_.load(); }

absl::Status MetaStore::QueueRepair(const v1::RepairRecord& record) {
  std::lock_guard lock(write_mu_);
  std::string stripe_id = StripeId(record.piece_id(), record.stripe());
  std::string index_key = std::string(1, kRepairIndex) + stripe_id;
  std::string margin_bytes;
  rocksdb::Status found = db_->Get(rocksdb::ReadOptions(), S(index_key), &margin_bytes);
  if (!found.IsNotFound()) RETURN_IF_ERROR(FromRocks(found, "get repair index"));
  v1::RepairRecord merged = record;
  rocksdb::WriteBatch batch;
  bool existed = found.ok() && margin_bytes.size() == 4;
  if (existed) {
    uint32_t old_margin = LoadBE32(margin_bytes.data());
    ASSIGN_OR_RETURN(auto old,
                     Get<v1::RepairRecord>(*db_, RepairKey(old_margin, stripe_id), "repair"));
    if (old) {
      std::set<uint32_t> shards(old->shards().begin(), old->shards().end());
      shards.insert(record.shards().begin(), record.shards().end());
      merged = *old;
      merged.clear_shards();
      for (uint32_t shard : shards) merged.add_shards(shard);
      merged.set_margin(std::min(old->margin(), record.margin()));
      merged.set_not_before_ms(std::min(old->not_before_ms(), record.not_before_ms()));
      if (merged.reason().find(record.reason()) == std::string::npos) {
        merged.set_reason(merged.reason() + ", " + record.reason());
      }
    }
    batch.Delete(S(RepairKey(old_margin, stripe_id)));
  } else {
    std::set<uint32_t> shards(record.shards().begin(), record.shards().end());
    merged.clear_shards();
    for (uint32_t shard : shards) merged.add_shards(shard);
  }
  batch.Put(S(index_key), EncodeBE32(merged.margin()));
  batch.Put(S(RepairKey(merged.margin(), stripe_id)), merged.SerializeAsString());
  RETURN_IF_ERROR(FromRocks(db_->Write(Synced(), &batch), "queue repair"));
  if (!existed) ++repair_backlog_;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::RepairRecord>> MetaStore::PendingRepairs(size_t limit) const {
  std::vector<v1::RepairRecord> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(S(std::string(1, kRepair)));
       it->Valid() && V(it->key())[0] == kRepair && out.size() < limit; it->Next()) {
    ASSIGN_OR_RETURN(auto r, Parse<v1::RepairRecord>(V(it->value()), "repair"));
    out.push_back(std::move(r));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "list repairs"));
  return out;
}

absl::Status MetaStore::FinishRepair(const std::string& piece_id, uint64_t stripe,
                                     const std::optional<v1::RepairRecord>& retry) {
  std::lock_guard lock(write_mu_);
  std::string stripe_id = StripeId(piece_id, stripe);
  std::string index_key = std::string(1, kRepairIndex) + stripe_id;
  std::string margin_bytes;
  rocksdb::Status found = db_->Get(rocksdb::ReadOptions(), S(index_key), &margin_bytes);
  if (found.IsNotFound()) return absl::OkStatus();
  RETURN_IF_ERROR(FromRocks(found, "get repair index"));
  if (margin_bytes.size() != 4) return absl::DataLossError("metadata: malformed repair index");
  rocksdb::WriteBatch batch;
  batch.Delete(S(RepairKey(LoadBE32(margin_bytes.data()), stripe_id)));
  if (retry) {
    batch.Put(S(index_key), EncodeBE32(retry->margin()));
    batch.Put(S(RepairKey(retry->margin(), stripe_id)), retry->SerializeAsString());
  } else {
    batch.Delete(S(index_key));
  }
  RETURN_IF_ERROR(FromRocks(db_->Write(Synced(), &batch), "finish repair"));
  if (!retry) --repair_backlog_;
  return absl::OkStatus();
}

uint64_t MetaStore::RepairBacklog() const { return repair_backlog_.load(); }

absl::Status MetaStore::SetNodeState(const std::string& node_id,
                                     const v1::NodeStateRecord& record) {
  std::lock_guard lock(write_mu_);
  return FromRocks(db_->Put(Synced(), S(std::string(1, kNodeState) + node_id),
                            record.SerializeAsString()),
                   "set node state");
}

absl::StatusOr<std::map<std::string, v1::NodeStateRecord>> MetaStore::NodeStates() const {
  std::map<std::string, v1::NodeStateRecord> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(S(std::string(1, kNodeState))); it->Valid() && V(it->key())[0] == kNodeState;
       it->Next()) {
    ASSIGN_OR_RETURN(auto r, Parse<v1::NodeStateRecord>(V(it->value()), "node state"));
    out.emplace(std::string(V(it->key()).substr(1)), std::move(r));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "list node states"));
  return out;
}

}  // namespace mosaic::gateway
