#pragma once
// What every S3 operation handler gets, and the handlers by their AWS names. Each handler
// answers through ctx.ex on success and returns OK, or returns an error status (S3Error)
// without having started the response; the dispatcher (gateway.cc) renders errors as S3 XML.

#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "client/pipeline/pipeline.h"
#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/config.h"
#include "server/gateway/http/exchange.h"
#include "server/gateway/meta/meta_store.h"
#include "server/gateway/s3/checksum.h"
#include "server/gateway/s3/router.h"

namespace mosaic::gateway {

// The authenticated caller: an access key and its grants.
struct Principal {
  std::string key_id;
  std::vector<v1::Grant> grants;
  // True when one grant holds all of `wanted`: its bucket (or "*"), at least its right, and a
  // prefix that `wanted`'s prefix starts with.
  bool Covers(const v1::Grant& wanted) const;
  // `right` on the whole bucket (prefix-limited grants do not count).
  bool Allows(const std::string& bucket, v1::Grant::Right right) const;
  // `right` on the object `key` of `bucket` (prefix-limited grants count when they match).
  bool AllowsKey(const std::string& bucket, const std::string& key, v1::Grant::Right right) const;
  // Any read grant on the bucket, whole or limited to a prefix (the bucket is listed).
  bool HasAnyGrantOn(const std::string& bucket) const;
};

// The request body as the handler reads it: decoded (aws-chunked) and verified against what
// the client declared (payload SHA-256, chunk signatures, trailing checksums) as it arrives.
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  // Next decoded bytes into `out`; 0 at the end.
  [[nodiscard]] virtual absl::StatusOr<size_t> Read(ByteSpan out) = 0;
  // After the last Read: checks what can only be checked at the end (payload hash, final
  // chunk, trailers). BadDigest, XAmzContentSHA256Mismatch, IncompleteBody, …
  [[nodiscard]] virtual absl::Status Finish() = 0;
  // Decoded length when the client declared it (Content-Length or
  // x-amz-decoded-content-length); nullopt otherwise.
  virtual std::optional<uint64_t> declared_length() const = 0;
  // The x-amz-checksum-<alg> value the client declared for this body (header or aws-chunked
  // trailer): its algorithm and raw digest. Verified only once Finish() returned OK; nullopt
  // when the request carried none.
  virtual std::optional<std::pair<ChecksumAlgorithm, std::string>> checksum() const {
    return std::nullopt;
  }
};

// Where handlers report shards found corrupt or missing while serving (the repair job).
// Must not block on the nodes; any thread may call it.
class RepairSink {
 public:
  virtual ~RepairSink() = default;
  virtual void ReportBadShards(const v1::ObjectRecord& record,
                               const std::vector<client::BadShard>& faults) = 0;
};

struct Services {
  MetaStore& meta;
  client::Pipeline& pipeline;
  const GatewayConfig& config;
  RepairSink* repair = nullptr;  // null: faults are not reported (tests)
};

struct Ctx {
  Services& svc;
  Exchange& ex;
  const S3Request& req;
  const Principal& who;
  BodyReader& body;
};

// Sends `xml` with status 200 (or `status`).
absl::Status SendXml(Ctx& ctx, const std::string& xml, int status = 200);
// The bucket's record; NoSuchBucket if it does not exist.
absl::StatusOr<v1::BucketRecord> RequireBucket(Ctx& ctx);
// AccessDenied unless the caller has `right` on the request's bucket.
absl::Status Require(Ctx& ctx, v1::Grant::Right right);

absl::Status ListBuckets(Ctx& ctx);
absl::Status CreateBucket(Ctx& ctx);
absl::Status DeleteBucket(Ctx& ctx);
absl::Status HeadBucket(Ctx& ctx);
absl::Status GetBucketLocation(Ctx& ctx);
absl::Status GetBucketVersioning(Ctx& ctx);
absl::Status ListObjects(Ctx& ctx);
absl::Status ListObjectsV2(Ctx& ctx);
absl::Status PutObject(Ctx& ctx);
absl::Status GetObject(Ctx& ctx);
absl::Status HeadObject(Ctx& ctx);
absl::Status DeleteObject(Ctx& ctx);
absl::Status DeleteObjects(Ctx& ctx);          // delete.cc
absl::Status CopyObject(Ctx& ctx);             // copy.cc
absl::Status CreateMultipartUpload(Ctx& ctx);  // multipart.cc
absl::Status UploadPart(Ctx& ctx);
absl::Status UploadPartCopy(Ctx& ctx);
absl::Status CompleteMultipartUpload(Ctx& ctx);
absl::Status AbortMultipartUpload(Ctx& ctx);
absl::Status ListParts(Ctx& ctx);
absl::Status ListMultipartUploads(Ctx& ctx);
absl::Status GetObjectTagging(Ctx& ctx);  // tagging.cc
absl::Status PutObjectTagging(Ctx& ctx);
absl::Status DeleteObjectTagging(Ctx& ctx);
absl::Status GetObjectAttributes(Ctx& ctx);         // attributes.cc
absl::Status PutBucketVersioning(Ctx& ctx);         // versioning.cc
absl::Status ListObjectVersions(Ctx& ctx);          // list.cc
absl::Status PutObjectLockConfiguration(Ctx& ctx);  // object_lock.cc
absl::Status GetObjectLockConfiguration(Ctx& ctx);
absl::Status PutObjectRetention(Ctx& ctx);
absl::Status GetObjectRetention(Ctx& ctx);
absl::Status PutObjectLegalHold(Ctx& ctx);
absl::Status GetObjectLegalHold(Ctx& ctx);
absl::Status PutBucketLifecycleConfiguration(Ctx& ctx);  // lifecycle.cc
absl::Status GetBucketLifecycleConfiguration(Ctx& ctx);
absl::Status DeleteBucketLifecycle(Ctx& ctx);
absl::Status GetBucketAcl(Ctx& ctx);  // acl.cc
absl::Status PutBucketAcl(Ctx& ctx);
absl::Status GetObjectAcl(Ctx& ctx);
absl::Status PutObjectAcl(Ctx& ctx);

// S3's bucket naming rules (3–63 characters of a-z, 0-9, '.', '-', …).
bool ValidBucketName(const std::string& name);

}  // namespace mosaic::gateway
