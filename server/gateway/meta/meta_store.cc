#include "server/gateway/meta/meta_store.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "common/bytes.h"
#include "common/status.h"

namespace mosaic::gateway {
namespace {

// Key schema: one tag byte, then the fields.
//   b <bucket>                -> BucketRecord
//   o <bucket> \0 <key>       -> ObjectRecord   (bucket names never contain NUL)
//   a <access key id>         -> AccessKeyRecord
//   d <seq u64 BE>            -> DeletionRecord
constexpr char kBucket = 'b';
constexpr char kObject = 'o';
constexpr char kAccessKey = 'a';
constexpr char kDeletion = 'd';

absl::Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return absl::OkStatus();
  std::string message = "metadata " + what + ": " + s.ToString();
  if (s.IsIOError()) return absl::UnavailableError(message);
  if (s.IsCorruption()) return absl::DataLossError(message);
  return absl::InternalError(message);
}

rocksdb::Slice S(const std::string& s) { return {s.data(), s.size()}; }
std::string_view V(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

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
  return FromRocks(db_->Delete(Synced(), S(BucketKey(name))), "delete bucket");
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
  return Get<v1::ObjectRecord>(*db_, ObjectKey(bucket, key), "object");
}

absl::Status MetaStore::PutObject(const std::string& bucket, const std::string& key,
                                  const v1::ObjectRecord& record, const PutCheck& check) {
  std::lock_guard lock(write_mu_);
  ASSIGN_OR_RETURN(auto b, Get<v1::BucketRecord>(*db_, BucketKey(bucket), "bucket"));
  if (!b) return absl::NotFoundError("no bucket " + bucket);
  ASSIGN_OR_RETURN(auto old, Get<v1::ObjectRecord>(*db_, ObjectKey(bucket, key), "object"));
  if (check) RETURN_IF_ERROR(check(old));
  rocksdb::WriteBatch batch;
  batch.Put(S(ObjectKey(bucket, key)), record.SerializeAsString());
  if (old) {
    v1::DeletionRecord d;
    *d.mutable_manifest() = old->manifest();
    batch.Put(S(DeletionKey(NextSequence())), d.SerializeAsString());
  }
  RETURN_IF_ERROR(FromRocks(db_->Write(Synced(), &batch), "put object"));
  if (old) ++backlog_;
  return absl::OkStatus();
}

absl::StatusOr<bool> MetaStore::DeleteObject(const std::string& bucket, const std::string& key) {
  std::lock_guard lock(write_mu_);
  ASSIGN_OR_RETURN(auto old, Get<v1::ObjectRecord>(*db_, ObjectKey(bucket, key), "object"));
  if (!old) return false;
  rocksdb::WriteBatch batch;
  batch.Delete(S(ObjectKey(bucket, key)));
  v1::DeletionRecord d;
  *d.mutable_manifest() = old->manifest();
  batch.Put(S(DeletionKey(NextSequence())), d.SerializeAsString());
  RETURN_IF_ERROR(FromRocks(db_->Write(Synced(), &batch), "delete object"));
  ++backlog_;
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

}  // namespace mosaic::gateway
