// PutObject: the body streams through the pipeline; the object's metadata is committed only
// after every shard is durable and every check on the body passed. A failed or abandoned
// upload deletes what it wrote and commits nothing.

#include "server/gateway/s3/object_put.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "client/pipeline/object_writer.h"
#include "common/buffer_pool.h"
#include "common/status.h"
#include "server/gateway/jobs/deleter.h"
#include "server/gateway/meta/manifest_codec.h"
#include "server/gateway/s3/checksum.h"
#include "server/gateway/s3/errors.h"
#include "server/gateway/s3/handler.h"
#include "server/gateway/s3/object_get.h"
#include "server/gateway/s3/object_headers.h"
#include "server/gateway/s3/object_lock.h"
#include "server/gateway/s3/object_options.h"
#include "server/gateway/s3/tagging.h"
#include "server/gateway/s3/versioning.h"
#include "server/gateway/s3/xml.h"

namespace mosaic::gateway {
namespace {

constexpr size_t kMaxKeyBytes = 1024;
constexpr size_t kBodyChunk = 1 << 20;

absl::StatusOr<v1::BucketRecord> CheckRequest(Ctx& ctx) {
  if (ctx.req.key.size() > kMaxKeyBytes) return S3Error(S3Code::kKeyTooLongError);
  RETURN_IF_ERROR(Require(ctx, v1::Grant::WRITE));
  ASSIGN_OR_RETURN(v1::BucketRecord bucket, RequireBucket(ctx));
  RETURN_IF_ERROR(CheckDeclaredLength(ctx));
  return bucket;
}

}  // namespace

absl::Status CheckDeclaredLength(Ctx& ctx) {
  // A body sent with Transfer-Encoding: chunked and no declared length is streamed; its
  // length is known at its end (StreamBody enforces the size limit as it goes). Neither
  // Content-Length nor chunked framing: S3 answers 411.
  bool chunked = !ctx.ex.content_length().has_value();
  if (!chunked && !ctx.ex.request().HasHeader("content-length")) {
    return S3Error(S3Code::kMissingContentLength);
  }
  std::optional<uint64_t> length = ctx.body.declared_length();
  if (length && *length > ctx.svc.config.max_object_bytes) {
    return S3Error(S3Code::kEntityTooLarge);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ContentMd5(const RequestView& request) {
  if (!request.HasHeader("content-md5")) return std::string();
  // Present but empty is InvalidDigest too, as S3 answers.
  return ParseDigest(ChecksumAlgorithm::kMd5, request.Header("content-md5"));
}

absl::StatusOr<std::string> StreamBody(Ctx& ctx, client::ObjectWriter& writer) {
  Checksummer md5(ChecksumAlgorithm::kMd5);
  // Sized to the body when its length is known (a 64 KiB PUT takes 64 KiB, not 1 MiB), from
  // the process's buffer pool, not zeroed.
  std::optional<uint64_t> expected = ctx.body.declared_length();
  if (expected) writer.ExpectBytes(*expected);
  PooledBuffer buffer(std::clamp<uint64_t>(expected.value_or(kBodyChunk), 4096, kBodyChunk));
  uint64_t total = 0;
  while (true) {
    ASSIGN_OR_RETURN(size_t n, ctx.body.Read(buffer.span()));
    if (n == 0) break;
    ConstByteSpan chunk{buffer.data(), n};
    total += n;
    if (total > ctx.svc.config.max_object_bytes) return S3Error(S3Code::kEntityTooLarge);
    md5.Update(AsStringView(chunk));
    RETURN_IF_ERROR(writer.Write(chunk));
  }
  RETURN_IF_ERROR(ctx.body.Finish());
  std::optional<uint64_t> declared = ctx.body.declared_length();
  if (declared && *declared != total) return S3Error(S3Code::kIncompleteBody);
  return md5.Digest();
}

MetaStore::PutCheck WriteConditions(const RequestView& request) {
  std::string if_match(request.Header("if-match"));
  std::string if_none_match(request.Header("if-none-match"));
  if (if_match.empty() && if_none_match.empty()) return nullptr;
  return [if_match, if_none_match](const std::optional<v1::ObjectRecord>& current) {
    // "*" or a list of entity tags, compared as a GET compares them (RFC 7232): write only
    // if the key does not exist (*) or its ETag is none of those listed.
    if (!if_none_match.empty() && current && EtagMatches(if_none_match, current->etag(), false)) {
      return S3Error(S3Code::kPreconditionFailed);
    }
    if (!if_match.empty()) {
      if (!current) return S3Error(S3Code::kNoSuchKey);
      if (!EtagMatches(if_match, current->etag(), true)) {
        return S3Error(S3Code::kPreconditionFailed);
      }
    }
    return absl::OkStatus();
  };
}

absl::Status PutObject(Ctx& ctx) {
  ASSIGN_OR_RETURN(v1::BucketRecord bucket, CheckRequest(ctx));
  RETURN_IF_ERROR(CheckWriteOptions(ctx.ex.request()));
  ASSIGN_OR_RETURN(LockRequest lock, LockFromHeaders(ctx.ex.request(), bucket, true));
  ASSIGN_OR_RETURN(std::string content_md5, ContentMd5(ctx.ex.request()));
  ASSIGN_OR_RETURN(v1::ObjectRecord record, RecordFromHeaders(ctx.ex.request()));
  ASSIGN_OR_RETURN(auto tags, TagsFromHeader(ctx.ex.request().Header("x-amz-tagging")));
  record.mutable_tags()->Assign(tags.begin(), tags.end());
  if (lock.any) ApplyLock(lock, record);
  ASSIGN_OR_RETURN(auto writer, ctx.svc.pipeline.NewWriter());
  auto md5 = StreamBody(ctx, *writer);
  if (md5.ok() && !content_md5.empty() && *md5 != content_md5) {
    md5 = S3Error(S3Code::kBadDigest);
  }
  if (!md5.ok()) {
    writer->Abort();  // deletes every shard written so far
    return md5.status();
  }
  ASSIGN_OR_RETURN(client::ObjectManifest manifest, writer->Finish());
  record.set_etag(HexEncode(AsBytes(*md5)));
  record.set_last_modified_ms(NowMs());
  record.set_size(manifest.size);
  v1::ObjectPart* piece = record.add_parts();
  *piece->mutable_manifest() = ToProto(manifest);
  piece->set_etag(record.etag());
  piece->set_last_modified_ms(record.last_modified_ms());
  const auto checksum = ctx.body.checksum();  // verified by StreamBody's Finish
  if (checksum) {
    record.mutable_checksum()->set_algorithm(std::string(NameOf(checksum->first)));
    record.mutable_checksum()->set_digest(checksum->second);
    piece->set_checksum(checksum->second);
  }
  absl::StatusOr<std::string> committed = ctx.svc.meta.PutObject(
      ctx.req.bucket, ctx.req.key, record, WriteConditions(ctx.ex.request()));
  if (!committed.ok()) {
    // The data is durable but unreferenced: deleted now, what a node did not confirm queued.
    if (absl::Status s = DeleteOrQueue(ctx.svc.meta, ctx.svc.pipeline, manifest); !s.ok()) {
      spdlog::warn("unreferenced data of {}/{} left to the orphan sweep: {}", ctx.req.bucket,
                   ctx.req.key, s.ToString());
    }
    if (committed.status().code() == absl::StatusCode::kNotFound &&
        !IsS3Error(committed.status())) {
      return S3Error(S3Code::kNoSuchBucket);
    }
    return VersionError(committed.status());
  }
  if (!committed->empty()) ctx.ex.SetHeader("x-amz-version-id", *committed);
  ctx.ex.SetHeader("ETag", "\"" + record.etag() + "\"");
  EchoEncryption(ctx.ex);
  if (checksum) {
    ctx.ex.SetHeader(std::string(HeaderNameOf(checksum->first)), Base64Encode(checksum->second));
    ctx.ex.SetHeader("x-amz-checksum-type", "FULL_OBJECT");
  }
  return ctx.ex.Send(200, "");
}

}  // namespace mosaic::gateway
