#pragma once
// The gateway's metadata: buckets, objects (their pieces' manifests), multipart uploads and
// their parts, completed uploads, access keys, node states, and the queues of repairs and of
// object data to delete on the nodes. Records are protobuf messages
// (proto/mosaic/v1/meta.proto), one table each (meta/tables/, one file per table, key schema
// in docs/architecture.md), over one transaction type (meta/txn.h) that RocksDB (embedded,
// one gateway: meta/rocks_backend.h) and PostgreSQL (shared by several gateways:
// meta/pg_backend.h) implement.
//
// Pieces of data (ObjectPart manifests) are counted: every object record and every part
// record of an upload in progress holds one reference to each piece it names. A piece whose
// last reference goes is queued for deletion in the same transaction. CopyObject shares
// pieces instead of copying bytes.
//
// Every write is one transaction, committed synced: an acknowledged PUT, COPY, Complete or
// DELETE survives a crash, and what must be atomic together (an object, its references,
// the deletion of the data it replaces) is. Rows are locked, not the store: writes to
// different keys proceed together, and their commits share one log write and fsync.
// Thread-safe; reads see one consistent snapshot each and take no lock.
//
// Errors: NOT_FOUND for a missing bucket where one is required, ALREADY_EXISTS for a bucket
// that exists, FAILED_PRECONDITION for a bucket that is not empty; UNAVAILABLE when a write
// lost its row locks to others too many times, or for I/O errors (both retryable); other
// database failures are INTERNAL; a record that does not parse is DATA_LOSS.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/mosaic/v1/backup.pb.h"
#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/meta/entries.h"
#include "server/gateway/meta/metadata_config.h"

namespace mosaic::gateway::meta {
class Backend;
class Transaction;
namespace pieces {
class References;
}
}  // namespace mosaic::gateway::meta

namespace mosaic::gateway {

class MetaStore {
 public:
  // RocksDB in folder `dir` (created if missing).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<MetaStore>> Open(const std::string& dir);
  // The backend `config` names: RocksDB in `dir`, or the PostgreSQL database (connected and
  // migrated: PgBackend::Open's errors).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<MetaStore>> Open(const MetadataConfig& config,
                                                                       const std::string& dir);
  // Over a backend opened already.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<MetaStore>> Open(
      std::unique_ptr<meta::Backend> backend);
  ~MetaStore();

  // Buckets.
  [[nodiscard]] absl::Status CreateBucket(const std::string& name, const v1::BucketRecord& r);
  [[nodiscard]] absl::StatusOr<std::optional<v1::BucketRecord>> GetBucket(
      const std::string& name) const;
  [[nodiscard]] absl::Status DeleteBucket(const std::string& name);
  [[nodiscard]] absl::StatusOr<std::vector<std::pair<std::string, v1::BucketRecord>>> ListBuckets()
      const;

  // Objects. With kManifests the record's parts carry their pieces' manifests; with kNone
  // only their ids (piece_id), which is all HEAD needs: one row read instead of one per part.
  enum class Hydration { kManifests, kNone };
  // With kManifests, which parts [first, last) to hydrate, chosen from the record as stored
  // (parts by piece id, with their sizes where stored): a ranged GET reads the pieces of the
  // parts it covers only (issue 14). Without one, every part.
  using PartRange = std::function<std::pair<int, int>(const v1::ObjectRecord&)>;
  [[nodiscard]] absl::StatusOr<std::optional<v1::ObjectRecord>> GetObject(
      const std::string& bucket, const std::string& key,
      Hydration hydration = Hydration::kManifests, const PartRange& parts = nullptr) const;
  // Commits `record` under (bucket, key); the data of the object it replaces, if any, is
  // queued for deletion in the same transaction. `check` (optional) runs with the destination's
  // row locked, with
  // the current record (nullopt if none) and may veto the write with its status (conditional
  // writes). NOT_FOUND if the bucket does not exist.
  using PutCheck = std::function<absl::Status(const std::optional<v1::ObjectRecord>&)>;
  // In a versioned bucket (docs/architecture.md, "Versions") the record becomes a new
  // version and the one it replaces an older version; in a suspended one it is the null
  // version, replacing the null version there was. Returns the version id as S3 shows it
  // ("" in a bucket never versioned, "null" for the null version); the same for CopyObject
  // and CompleteUpload.
  [[nodiscard]] absl::StatusOr<std::string> PutObject(const std::string& bucket,
                                                      const std::string& key,
                                                      const v1::ObjectRecord& record,
                                                      const PutCheck& check = nullptr);
  // Copies with the source's and destination's rows locked: `build` gets the source record (nullopt
  // if there is none) and returns the record to commit under (bucket, key), sharing the source's
  // pieces or not; its error vetoes the copy. `check` as for PutObject, on the destination.
  using CopyBuild =
      std::function<absl::StatusOr<v1::ObjectRecord>(const std::optional<v1::ObjectRecord>&)>;
  // `src_version` (S3's id, "null" included) copies that version instead of the current
  // object (a delete marker reaches `build` as a record with delete_marker set).
  [[nodiscard]] absl::StatusOr<std::string> CopyObject(
      const std::string& src_bucket, const std::string& src_key, const std::string& bucket,
      const std::string& key, const CopyBuild& build, const PutCheck& check = nullptr,
      const std::optional<std::string>& src_version = std::nullopt);
  // Replaces the tags of an existing object (its data untouched); false if there is none.
  [[nodiscard]] absl::StatusOr<bool> SetTags(const std::string& bucket, const std::string& key,
                                             const std::vector<v1::Tag>& tags);
  // Deletes the object and queues its data; returns whether it existed. In a versioned
  // bucket it writes a delete marker instead (DeleteVersion without a version id).
  [[nodiscard]] absl::StatusOr<bool> DeleteObject(const std::string& bucket,
                                                  const std::string& key);

  // Versions (versions table, meta_versions.cc). Version ids as S3 shows them ("null" for
  // the null version). A bucket's versioning changes with UpdateBucket.
  //
  // DELETE with or without a version id: without one, a versioned bucket gets a delete
  // marker (a suspended one the null marker, replacing the null version); with one, that
  // version is removed for good (its data queued once nothing refers to it) and the next
  // newest becomes current. A version under Object Lock (legal hold, or retained until after
  // `now_ms`: COMPLIANCE always, GOVERNANCE unless `bypass_governance`) is refused with
  // PERMISSION_DENIED. A version id that is not there deletes nothing (existed false);
  // INVALID_ARGUMENT for an id that is malformed.
  [[nodiscard]] absl::StatusOr<DeletedVersion> DeleteVersion(
      const std::string& bucket, const std::string& key,
      const std::optional<std::string>& version_id, bool bypass_governance, int64_t now_ms);
  // A version (an object or a delete marker), nullopt if there is none; with no version id
  // the key's newest version, a delete marker included. INVALID_ARGUMENT for a malformed id.
  [[nodiscard]] absl::StatusOr<std::optional<v1::ObjectRecord>> GetVersion(
      const std::string& bucket, const std::string& key,
      const std::optional<std::string>& version_id, Hydration hydration = Hydration::kManifests,
      const PartRange& parts = nullptr) const;
  // Changes a version's record in place (tags, retention, legal hold; not its data) with its
  // key locked; `change` may veto with its status. No version id: the current object. False
  // if there is no such version.
  using VersionChange = std::function<absl::Status(v1::ObjectRecord&)>;
  [[nodiscard]] absl::StatusOr<bool> UpdateVersion(const std::string& bucket,
                                                   const std::string& key,
                                                   const std::optional<std::string>& version_id,
                                                   const VersionChange& change);
  // Up to `limit` versions of `bucket` whose key starts with `prefix`, in key order and
  // newest first within a key, from key `from_key` on (inclusive); with `after_version`
  // (an S3 id), only versions of `from_key` older than that one, then the keys after it.
  // Reads O(limit) rows.
  [[nodiscard]] absl::StatusOr<std::vector<VersionEntry>> ListVersions(
      const std::string& bucket, const std::string& prefix, const std::string& from_key,
      const std::optional<std::string>& after_version, size_t limit) const;
  // The lifecycle job's cursor (jobs/lifecycle.h): nullopt before its first step.
  [[nodiscard]] absl::StatusOr<std::optional<v1::LifecycleCursor>> GetLifecycleCursor() const;
  [[nodiscard]] absl::Status PutLifecycleCursor(const v1::LifecycleCursor& cursor);
  // The bucket's usage: bytes and number of the versions it stores, delete markers excepted
  // (counters kept by every write: meta/tables/usage.h). A write that would take a bucket
  // over its quota (BucketRecord quota_bytes, quota_objects: set with UpdateBucket) fails with
  // RESOURCE_EXHAUSTED, meta::IsQuotaExceeded (meta/quota_error.h), and changes nothing.
  [[nodiscard]] absl::StatusOr<v1::BucketUsage> BucketUsage(const std::string& bucket) const;
  // Changes a bucket's record (versioning, Object Lock configuration) with it locked;
  // `change` may veto. NOT_FOUND if there is no such bucket.
  using BucketChange = std::function<absl::Status(v1::BucketRecord&)>;
  [[nodiscard]] absl::Status UpdateBucket(const std::string& name, const BucketChange& change);
  // Up to `limit` objects of `bucket` whose key starts with `prefix` and is >= `start`, in
  // byte order of key.
  [[nodiscard]] absl::StatusOr<std::vector<ObjectEntry>> ListObjects(const std::string& bucket,
                                                                     const std::string& prefix,
                                                                     const std::string& start,
                                                                     size_t limit) const;

  // Multipart uploads. Upload ids are unique over the store (the caller makes them random).
  // NOT_FOUND if the bucket does not exist.
  [[nodiscard]] absl::Status CreateUpload(const std::string& bucket, const std::string& key,
                                          const v1::UploadRecord& record);
  [[nodiscard]] absl::StatusOr<std::optional<v1::UploadRecord>> GetUpload(
      const std::string& bucket, const std::string& key, const std::string& upload_id) const;
  // Commits a part (replacing the part of the same number, whose data is queued for
  // deletion). NOT_FOUND if the upload does not exist (any more): the caller deletes the data.
  [[nodiscard]] absl::Status PutPart(const std::string& bucket, const std::string& key,
                                     const std::string& upload_id, const v1::ObjectPart& part);
  // Parts with number > `after`, in order, at most `limit`.
  [[nodiscard]] absl::StatusOr<std::vector<v1::ObjectPart>> ListParts(const std::string& upload_id,
                                                                      uint32_t after,
                                                                      size_t limit) const;
  // Uploads of `bucket` whose key starts with `prefix`, after (key_marker, upload_marker) in
  // (key, upload id) order, at most `limit`.
  [[nodiscard]] absl::StatusOr<std::vector<UploadEntry>> ListUploads(
      const std::string& bucket, const std::string& prefix, const std::string& key_marker,
      const std::string& upload_marker, size_t limit) const;
  // Uploads of any bucket initiated before `before_ms`, at most `limit` (the expiry job).
  [[nodiscard]] absl::StatusOr<std::vector<UploadEntry>> UploadsInitiatedBefore(int64_t before_ms,
                                                                                size_t limit) const;
  // Completes an upload with its row locked: `build` gets the upload and all its parts in
  // order and returns the object's record (or an error: InvalidPart, …, which leaves the
  // upload as it was). The object is committed, the upload and its part records removed, the
  // parts the object does not use queued for deletion, and a completed-upload record written
  // (GetCompletedUpload), in one write. NOT_FOUND if the
  // upload does not exist; `check` as for PutObject.
  using CompleteBuild = std::function<absl::StatusOr<v1::ObjectRecord>(
      const v1::UploadRecord&, const std::vector<v1::ObjectPart>&)>;
  [[nodiscard]] absl::StatusOr<std::string> CompleteUpload(const std::string& bucket,
                                                           const std::string& key,
                                                           const std::string& upload_id,
                                                           const CompleteBuild& build,
                                                           const PutCheck& check = nullptr);
  // A completed upload's record (CompleteUpload writes it with the object, from the record
  // `build` returned: its ETag, size, last_modified_ms and parts' numbers and ETags), nullopt
  // when the id never completed here or its record expired.
  [[nodiscard]] absl::StatusOr<std::optional<v1::CompletedUploadRecord>> GetCompletedUpload(
      const std::string& upload_id) const;
  // Removes up to `limit` completed-upload records completed before `before_ms` (the upload
  // expiry job; records are kept at least 24 h); returns how many it removed.
  [[nodiscard]] absl::StatusOr<uint64_t> ExpireCompletedUploads(int64_t before_ms, size_t limit);
  // Removes the upload and queues every part's data; false if it did not exist.
  [[nodiscard]] absl::StatusOr<bool> AbortUpload(const std::string& bucket, const std::string& key,
                                                 const std::string& upload_id);

  // Pieces: each stored once (its manifest, the current placement of its shards) with the
  // number of records naming it; 0 references = not stored. Records read through GetObject,
  // CopyObject's build and ListParts carry their pieces' manifests; ListObjects and
  // UploadsInitiatedBefore do not (they give sizes and ETags only).
  [[nodiscard]] absl::StatusOr<uint64_t> References(const std::string& piece_id) const;
  [[nodiscard]] absl::StatusOr<std::optional<v1::PieceRecord>> GetPiece(
      const std::string& piece_id) const;
  // Up to `limit` pieces with ids after `after` ("" = from the first), in id order.
  [[nodiscard]] absl::StatusOr<std::vector<std::pair<std::string, v1::PieceRecord>>> ListPieces(
      const std::string& after, size_t limit) const;
  // Repair: shard `shard` of stripe `stripe` of the piece now lives on `to_node` instead of
  // `from_node`; in the same write the shard leaves the stripe's repair entry, so that a
  // gateway stopped before FinishRepair never re-places a shard that moved. NOT_FOUND if the piece
  // is gone (its data was deleted meanwhile: the caller deletes what it wrote), FAILED_PRECONDITION
  // if the shard is not on `from_node` any more.
  [[nodiscard]] absl::Status MoveShard(const std::string& piece_id, uint64_t stripe, int shard,
                                       const std::string& from_node, const std::string& to_node);

  // The repair job's commit of many stripes in one synced write (meta_repair.cc). For each
  // RepairCommit: its moves, each as MoveShard (a compare-and-set of one shard of the entry's
  // stripe), then the end of its queue entry as FinishRepair(taken, retry). A piece named by
  // several entries is read and written once. Returns, per commit and per move in the order
  // given, OK or MoveShard's error for that move alone (NOT_FOUND: the piece is gone;
  // FAILED_PRECONDITION: the shard moved meanwhile; INVALID_ARGUMENT: no such shard): a
  // failed move changes nothing and its shard still leaves the entry (the caller keeps a
  // shard to retry in `retry`). The call's own error (nothing written): as Write's.
  struct ShardMove {
    uint32_t shard = 0;
    std::string from_node;
    std::string to_node;
  };
  struct RepairCommit {
    v1::RepairRecord taken;  // as PendingRepairs gave it
    std::vector<ShardMove> moves;
    std::optional<v1::RepairRecord> retry;
  };
  [[nodiscard]] absl::StatusOr<std::vector<std::vector<absl::Status>>> CommitRepairs(
      const std::vector<RepairCommit>& commits);

  // The repair queue: stripes whose shards must be rebuilt or moved, in order of margin
  // (fewest spare shards first). One entry per stripe: queueing a stripe that is queued
  // already merges the shards and keeps the smaller margin (and the earlier time).
  [[nodiscard]] absl::Status QueueRepair(const v1::RepairRecord& record);
  // Up to `limit` entries, lowest margin first (those not due yet included: the caller
  // skips entries whose not_before_ms is in the future).
  [[nodiscard]] absl::StatusOr<std::vector<v1::RepairRecord>> PendingRepairs(size_t limit) const;
  // Ends the work on `taken` (an entry as PendingRepairs gave it): its shards leave the
  // stripe's entry while shards queued meanwhile stay; with `retry`, it is put back (attempts,
  // backoff, remaining shards) merged with those, in the same write. Nothing happens if the
  // stripe is not queued.
  [[nodiscard]] absl::Status FinishRepair(const v1::RepairRecord& taken,
                                          const std::optional<v1::RepairRecord>& retry);
  uint64_t RepairBacklog() const;

  // Node states (`mosaic node drain|remove|undrain`), by node id. A node without a record is
  // ACTIVE. SetNodeState writes (synced) over any earlier record.
  [[nodiscard]] absl::Status SetNodeState(const std::string& node_id,
                                          const v1::NodeStateRecord& record);
  [[nodiscard]] absl::StatusOr<std::map<std::string, v1::NodeStateRecord>> NodeStates() const;
  // Nodes declared down by the failure detector (node id -> when, ms since the epoch), kept
  // so that the detector carries on after a restart; `declared_ms` nullopt forgets the node.
  [[nodiscard]] absl::Status SetDeclaredDown(const std::string& node_id,
                                             std::optional<uint64_t> declared_ms);
  [[nodiscard]] absl::StatusOr<std::map<std::string, uint64_t>> DeclaredDown() const;

  // Whether other gateways may share this metadata (PostgreSQL): background jobs then run
  // under leases (meta/lease.h). RocksDB belongs to one gateway.
  bool shared() const { return shared_; }
  // Background jobs' leases, by job. SwapLease writes `lease` if the job's lease still has
  // heartbeat `expected_beat` (0: none yet) and returns whether it did (a compare-and-set).
  [[nodiscard]] absl::StatusOr<std::optional<LeaseEntry>> GetLease(const std::string& job) const;
  [[nodiscard]] absl::StatusOr<bool> SwapLease(const std::string& job, uint64_t expected_beat,
                                               const LeaseEntry& lease);
  [[nodiscard]] absl::StatusOr<std::map<std::string, LeaseEntry>> Leases() const;

  // Writes in progress ("mark uploading first", meta/write_journal.h; meta_writes.cc).
  // MarkWrite records (or enlarges) one; EndWrites forgets the writer's `object_ids` in one
  // transaction. BeatWriter sets the writer's heartbeat to `beat` and returns whether it was
  // `expected` before (0: none; false when a sweep dropped the writer meanwhile). DropWriter
  // deletes a writer's heartbeat and every write it recorded, and returns how many writes.
  [[nodiscard]] absl::Status MarkWrite(const WriteInFlight& write);
  [[nodiscard]] absl::Status EndWrites(const std::string& writer,
                                       const std::vector<std::string>& object_ids);
  [[nodiscard]] absl::StatusOr<std::vector<WriteInFlight>> WritesInFlight() const;
  [[nodiscard]] absl::StatusOr<bool> BeatWriter(const std::string& writer, uint64_t expected,
                                                uint64_t beat);
  [[nodiscard]] absl::StatusOr<std::map<std::string, uint64_t>> WriterBeats() const;
  [[nodiscard]] absl::StatusOr<uint64_t> DropWriter(const std::string& writer);

  // Access keys.
  [[nodiscard]] absl::Status PutKey(const v1::AccessKeyRecord& r);
  [[nodiscard]] absl::StatusOr<std::optional<v1::AccessKeyRecord>> GetKey(
      const std::string& id) const;
  [[nodiscard]] absl::StatusOr<std::vector<v1::AccessKeyRecord>> ListKeys() const;
  [[nodiscard]] absl::StatusOr<bool> DeleteKey(const std::string& id);

  // The deletion queue.
  [[nodiscard]] absl::Status QueueDeletion(const v1::Manifest& manifest);
  [[nodiscard]] absl::StatusOr<std::vector<std::pair<uint64_t, v1::DeletionRecord>>>
  PendingDeletions(size_t limit) const;
  // Removes entry `seq`; with `retry`, queues it again (its remaining shards) in the same write.
  // An entry that is not there (finished already) is left alone: OK, nothing queued.
  [[nodiscard]] absl::Status FinishDeletion(uint64_t seq,
                                            const std::optional<v1::DeletionRecord>& retry);
  uint64_t DeletionBacklog() const;

  // Master key (key_rotation.h; meta_keys.cc). The key state row: which master key the
  // metadata is under, and a rotation in progress.
  [[nodiscard]] absl::StatusOr<std::optional<v1::KeyStateRecord>> GetKeyState() const;
  [[nodiscard]] absl::Status PutKeyState(const v1::KeyStateRecord& state);
  // Replaces the wrapped data key of each piece of `piece_ids` with what `rewrap` returns
  // for its manifest (nullopt: leave it), in one transaction with their rows locked (pieces
  // gone meanwhile are skipped). Returns how many changed; `rewrap`'s error is returned and
  // nothing is written.
  using RewrapKey =
      std::function<absl::StatusOr<std::optional<std::string>>(const v1::Manifest& manifest)>;
  [[nodiscard]] absl::StatusOr<uint64_t> RewrapPieces(const std::vector<std::string>& piece_ids,
                                                      const RewrapKey& rewrap);

  // Metadata backup (jobs/metadata_backup.h, backup/restore.h; meta_backup.cc). Raw keys and
  // values: the backup copies every record, whatever its kind.
  //
  // Visits every key and value at one consistent snapshot, in key order, and returns the
  // snapshot's sequence number (PostgreSQL: 0). A visitor error stops the walk and is
  // returned.
  using RawVisit = std::function<absl::Status(std::string_view key, std::string_view value)>;
  [[nodiscard]] absl::StatusOr<uint64_t> VisitSnapshot(const RawVisit& visit) const;
  // The write batches committed after sequence `after`, in order, from the write-ahead log:
  // `visit` gets each batch's first sequence, its bytes, and whether it only wrote the backup
  // state (the backup's own bookkeeping). Returns the last sequence visited (`after` if
  // none). FAILED_PRECONDITION when the log no longer reaches back to `after` + 1 (the
  // caller takes a new snapshot); always with PostgreSQL, whose log is not read: its
  // backups are snapshots.
  using BatchVisit = std::function<absl::Status(uint64_t first_sequence, std::string_view batch,
                                                bool backup_state_only)>;
  [[nodiscard]] absl::StatusOr<uint64_t> VisitUpdatesSince(uint64_t after,
                                                           const BatchVisit& visit) const;
  // The database's identity (RocksDB's, or PostgreSQL's mosaic_identity; a restored copy
  // has another).
  [[nodiscard]] absl::StatusOr<std::string> Identity() const;
  // Whether the store holds no row at all (a new RocksDB folder, an empty PostgreSQL
  // database: what restore and `mosaic meta migrate` write into).
  [[nodiscard]] absl::StatusOr<bool> Empty() const;
  [[nodiscard]] absl::StatusOr<std::optional<v1::BackupState>> GetBackupState() const;
  [[nodiscard]] absl::Status PutBackupState(const v1::BackupState& state);
  // Restore only, into a store no gateway uses, which must be reopened afterwards (counters
  // such as the deletion queue's next sequence are read at Open). PutRaw writes the pairs in
  // one synced batch (PostgreSQL: in transactions of at most 500 rows, each of which takes a
  // lock); ApplyBatch replays a write batch read by VisitUpdatesSince (DATA_LOSS
  // if it is not one).
  [[nodiscard]] absl::Status PutRaw(const std::vector<std::pair<std::string, std::string>>& pairs);
  [[nodiscard]] absl::Status ApplyBatch(std::string_view batch);

  // The transaction interface itself, for tables kept outside this class (the console's
  // members, teams, sessions and audit log: server/gateway/console/). Thread-safe.
  meta::Backend& backend();

 private:
  // What a transaction changed in the queues' counters, applied when it commits.
  struct Tally {
    int64_t queued = 0;   // deletion queue entries
    int64_t repairs = 0;  // repair queue entries
  };
  explicit MetaStore(std::unique_ptr<meta::Backend> backend);
  // The deletion queue's next sequence. With a database that other gateways share, from a
  // block of sequences claimed in the database (ClaimSequences), so that no two gateways
  // write the same entry.
  absl::StatusOr<uint64_t> NextSequence();
  absl::StatusOr<uint64_t> ClaimSequences();
  // Fills in the manifests of the parts `parts` names (all without it).
  static absl::Status HydrateParts(meta::Transaction& t, v1::ObjectRecord& record,
                                   const PartRange& parts);
  // Runs `body` in a transaction (retried on lock conflicts), then applies its tally.
  absl::Status Write(const std::function<absl::Status(meta::Transaction&, Tally&)>& body);
  // Applies `refs` (pieces' counts, the deletion queue) and the usage counters of `bucket`
  // (usage.h), which the records in `refs` belong to.
  absl::Status ApplyReferences(meta::Transaction& t, meta::pieces::References& refs, Tally& tally,
                               const std::string& bucket);
  // Commits `record` (with its references, added to `refs`) over what (bucket, key) holds.
  // Returns the version id as PutObject does.
  absl::StatusOr<std::string> CommitObject(meta::Transaction& t, meta::pieces::References& refs,
                                           Tally& tally, const std::string& bucket,
                                           const std::string& key, const v1::ObjectRecord& record,
                                           const PutCheck& check);
  // CommitObject in a bucket that is or was versioned (meta_versions.cc): fills in the
  // record's version, which must outlive `refs`' Apply (it holds its new pieces).
  absl::StatusOr<std::string> CommitVersion(meta::Transaction& t, meta::pieces::References& refs,
                                            const v1::BucketRecord& b, const std::string& bucket,
                                            const std::string& key,
                                            const std::optional<v1::ObjectRecord>& old,
                                            v1::ObjectRecord& record);
  // Locks the upload, deletes it and its part records; returns the parts (as stored).
  absl::StatusOr<std::vector<v1::ObjectPart>> DropUpload(meta::Transaction& t,
                                                         const std::string& bucket,
                                                         const std::string& key,
                                                         const std::string& upload_id);

  std::unique_ptr<meta::Backend> backend_;
  bool shared_ = false;  // PostgreSQL: other gateways write too
  std::atomic<uint64_t> next_deletion_{1};
  std::mutex claim_mu_;
  uint64_t claimed_end_ = 0;  // one past the claimed block's last sequence (shared_ only)
  std::atomic<uint64_t> backlog_{0};
  std::atomic<uint64_t> repair_backlog_{0};
};

// The smallest string greater than every string starting with `prefix` ("" if none: the
// prefix is all 0xff bytes). Used to skip a common prefix when listing.
std::string PrefixSuccessor(std::string prefix);

}  // namespace mosaic::gateway
