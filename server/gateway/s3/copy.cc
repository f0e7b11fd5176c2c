// CopyObject: a new record that shares the source's pieces (no data moves; the metadata
// store counts the references, docs/architecture.md "Shared data"). The source is read, its
// conditions checked and the copy committed under the metadata store's write lock, so the
// copy is of the very object the conditions held for.

#include "server/gateway/s3/copy.h"

#include "common/status.h"
#include "server/gateway/s3/errors.h"
#include "server/gateway/s3/handler.h"
#include "server/gateway/s3/multipart.h"
#include "server/gateway/s3/object_get.h"
#include "server/gateway/s3/object_headers.h"
#include "server/gateway/s3/object_lock.h"
#include "server/gateway/s3/object_options.h"
#include "server/gateway/s3/object_put.h"
#include "server/gateway/s3/tagging.h"
#include "server/gateway/s3/versioning.h"
#include "server/gateway/s3/xml.h"

namespace mosaic::gateway {
namespace {

constexpr size_t kMaxKeyBytes = 1024;

// What a copy takes from the request rather than from the source, decided before the lock.
struct CopyPlan {
  CopySource source;
  bool replace_metadata = false;
  v1::ObjectRecord headers;  // with replace_metadata: the request's stored headers and metadata
  bool replace_tags = false;
  std::vector<v1::Tag> tags;  // with replace_tags
  // Never copied from the source (S3): the request's, whatever the metadata directive.
  std::optional<std::string> redirect;
};

// "COPY" (the default when absent) or "REPLACE"; InvalidArgument for anything else.
absl::StatusOr<bool> Replaces(const RequestView& request, std::string_view header) {
  std::string_view value = request.Header(header);
  if (value.empty() || value == "COPY") return false;
  if (value == "REPLACE") return true;
  return S3Error(S3Code::kInvalidArgument, "Unknown " + std::string(header) + " value");
}

absl::StatusOr<CopyPlan> Plan(Ctx& ctx) {
  const RequestView& request = ctx.ex.request();
  CopyPlan plan;
  ASSIGN_OR_RETURN(plan.source, ParseCopySource(request.Header("x-amz-copy-source")));
  ASSIGN_OR_RETURN(plan.replace_metadata, Replaces(request, "x-amz-metadata-directive"));
  ASSIGN_OR_RETURN(plan.replace_tags, Replaces(request, "x-amz-tagging-directive"));
  if (plan.replace_metadata) {
    ASSIGN_OR_RETURN(plan.headers, RecordFromHeaders(request));
  }
  if (plan.replace_tags) {
    ASSIGN_OR_RETURN(plan.tags, TagsFromHeader(request.Header("x-amz-tagging")));
  }
  ASSIGN_OR_RETURN(plan.redirect, RedirectLocation(request));
  RETURN_IF_ERROR(CheckWriteOptions(request));
  if (plan.source.bucket == ctx.req.bucket && plan.source.key == ctx.req.key &&
      !plan.source.version && !plan.replace_metadata && !plan.replace_tags && !plan.redirect &&
      !AsksForStorageOptions(request)) {
    return S3Error(S3Code::kInvalidRequest,
                   "This copy request is illegal because it is trying to copy an object to "
                   "itself without changing the object's metadata, storage class, website "
                   "redirect location or encryption attributes.");
  }
  return plan;
}

// Rights and buckets: READ on the source object, WRITE on the destination, both existing.
absl::StatusOr<v1::BucketRecord> CheckAccess(Ctx& ctx, const CopySource& source) {
  if (ctx.req.key.size() > kMaxKeyBytes) return S3Error(S3Code::kKeyTooLongError);
  RETURN_IF_ERROR(Require(ctx, v1::Grant::WRITE));
  if (!ctx.who.AllowsKey(source.bucket, source.key, v1::Grant::READ)) {
    return S3Error(S3Code::kAccessDenied);
  }
  ASSIGN_OR_RETURN(auto source_bucket, ctx.svc.meta.GetBucket(source.bucket));
  if (!source_bucket) return S3Error(S3Code::kNoSuchBucket, "The source bucket does not exist");
  return RequireBucket(ctx);
}

// The record to commit: the source's data (its pieces, ETag, size and checksum shared
// as they are), with the plan's headers and tags, modified now.
v1::ObjectRecord CopiedRecord(const CopyPlan& plan, const v1::ObjectRecord& source) {
  v1::ObjectRecord record = source;
  if (plan.replace_metadata) {
    *record.mutable_headers() = plan.headers.headers();
    *record.mutable_user_metadata() = plan.headers.user_metadata();
  }
  record.mutable_headers()->erase(kRedirectHeader);
  if (plan.redirect) (*record.mutable_headers())[kRedirectHeader] = *plan.redirect;
  if (plan.replace_tags) record.mutable_tags()->Assign(plan.tags.begin(), plan.tags.end());
  record.set_last_modified_ms(NowMs());
  // A new version of its own, without the source's Object Lock (the copy's comes from the
  // request or the destination bucket's default).
  record.clear_version_id();
  record.clear_version_order();
  record.clear_lock_mode();
  record.clear_retain_until_ms();
  record.clear_legal_hold();
  record.clear_legal_hold_set();
  return record;
}

}  // namespace

absl::Status CheckCopySourceVersion(const v1::ObjectRecord& source,
                                    const std::optional<std::string>& version) {
  if (!source.delete_marker()) return absl::OkStatus();
  if (!version) return S3Error(S3Code::kNoSuchKey);
  return S3Error(S3Code::kInvalidRequest,
                 "The source of a copy request may not specifically refer to a delete marker by "
                 "version id.");
}

absl::Status CheckCopySourceConditions(const RequestView& request, const v1::ObjectRecord& source) {
  // The same rules as a GET's If-* headers (RFC 7232 order), under other names.
  RequestView renamed;
  static constexpr std::pair<const char*, const char*> kNames[] = {
      {"x-amz-copy-source-if-match", "if-match"},
      {"x-amz-copy-source-if-none-match", "if-none-match"},
      {"x-amz-copy-source-if-modified-since", "if-modified-since"},
      {"x-amz-copy-source-if-unmodified-since", "if-unmodified-since"},
  };
  for (const auto& [from, to] : kNames) {
    if (request.HasHeader(from)) renamed.headers.emplace_back(to, request.Header(from));
  }
  absl::Status s = CheckConditions(renamed, source.etag(), source.last_modified_ms());
  if (!s.ok() && CodeOf(s) == S3Code::kNotModified) return S3Error(S3Code::kPreconditionFailed);
  return s;
}

absl::Status CopyObject(Ctx& ctx) {
  ASSIGN_OR_RETURN(CopyPlan plan, Plan(ctx));
  ASSIGN_OR_RETURN(v1::BucketRecord bucket, CheckAccess(ctx, plan.source));
  const RequestView& request = ctx.ex.request();
  ASSIGN_OR_RETURN(LockRequest lock, LockFromHeaders(request, bucket, false));
  v1::ObjectRecord committed;
  std::string source_version;
  auto build =
      [&](const std::optional<v1::ObjectRecord>& source) -> absl::StatusOr<v1::ObjectRecord> {
    if (!source) return S3Error(plan.source.version ? S3Code::kNoSuchVersion : S3Code::kNoSuchKey);
    RETURN_IF_ERROR(CheckCopySourceVersion(*source, plan.source.version));
    RETURN_IF_ERROR(CheckCopySourceConditions(request, *source));
    if (!source->version_id().empty() || plan.source.version) source_version = ShownId(*source);
    committed = CopiedRecord(plan, *source);
    if (lock.any) ApplyLock(lock, committed);
    return committed;
  };
  absl::StatusOr<std::string> s =
      ctx.svc.meta.CopyObject(plan.source.bucket, plan.source.key, ctx.req.bucket, ctx.req.key,
                              build, WriteConditions(request), plan.source.version);
  if (s.status().code() == absl::StatusCode::kNotFound && !IsS3Error(s.status())) {
    return S3Error(S3Code::kNoSuchBucket);  // deleted since CheckAccess
  }
  RETURN_IF_ERROR(VersionError(s.status()));
  if (!s->empty()) ctx.ex.SetHeader("x-amz-version-id", *s);
  if (!source_version.empty()) ctx.ex.SetHeader("x-amz-copy-source-version-id", source_version);
  EchoEncryption(ctx.ex);
  XmlDoc doc("CopyObjectResult");
  XmlDoc::Add(doc.root(), "LastModified", Iso8601(committed.last_modified_ms()));
  XmlDoc::Add(doc.root(), "ETag", "\"" + committed.etag() + "\"");
  return SendXml(ctx, doc.ToString());
}

}  // namespace mosaic::gateway
