// Put/GetBucketVersioning and the helpers of versioning.h.

#include "server/gateway/s3/versioning.h"

#include <pugixml.hpp>

#include "common/status.h"
#include "server/gateway/s3/errors.h"
#include "server/gateway/s3/object_options.h"
#include "server/gateway/s3/request_body.h"
#include "server/gateway/s3/xml.h"

namespace mosaic::gateway {
namespace {

constexpr size_t kMaxVersioningBodyBytes = 64 * 1024;

absl::StatusOr<v1::BucketRecord::Versioning> ParseVersioning(std::string_view body) {
  pugi::xml_document doc;
  RETURN_IF_ERROR(LoadXml(doc, body, kSmallConfigXml));
  pugi::xml_node root = doc.child("VersioningConfiguration");
  if (!root) return S3Error(S3Code::kMalformedXML);
  if (std::string_view(root.child("MfaDelete").text().get()) == "Enabled") {
    return S3Error(S3Code::kNotImplemented, "MFA Delete is not implemented by Mosaic");
  }
  std::string_view status = root.child("Status").text().get();
  if (status == "Enabled") return v1::BucketRecord::ENABLED;
  if (status == "Suspended") return v1::BucketRecord::SUSPENDED;
  return S3Error(S3Code::kMalformedXML);
}

}  // namespace

std::string ShownId(const v1::ObjectRecord& record) {
  return record.version_id().empty() ? "null" : record.version_id();
}

void SetVersionHeaders(Exchange& ex, const v1::ObjectRecord& record, bool always) {
  if (always || !record.version_id().empty()) ex.SetHeader("x-amz-version-id", ShownId(record));
  if (record.delete_marker()) ex.SetHeader("x-amz-delete-marker", "true");
}

absl::StatusOr<bool> ShowsVersionId(Ctx& ctx, const v1::ObjectRecord& record) {
  if (!record.version_id().empty()) return true;
  ASSIGN_OR_RETURN(auto bucket, ctx.svc.meta.GetBucket(ctx.req.bucket));
  return bucket && bucket->versioning() != v1::BucketRecord::UNVERSIONED;
}

absl::Status VersionError(absl::Status status) {
  if (status.ok() || IsS3Error(status)) return status;
  if (absl::IsPermissionDenied(status)) {
    return S3Error(S3Code::kAccessDenied, "Access Denied because object protected by object lock.");
  }
  if (absl::IsInvalidArgument(status)) {
    return S3Error(S3Code::kInvalidArgument, "Invalid version id specified");
  }
  return status;
}

absl::StatusOr<std::optional<v1::ObjectRecord>> ReadVersion(
    Ctx& ctx, const std::string& bucket, const std::string& key,
    const std::optional<std::string>& version, MetaStore::Hydration hydration,
    const MetaStore::PartRange& parts) {
  if (!version) return ctx.svc.meta.GetObject(bucket, key, hydration, parts);
  auto record = ctx.svc.meta.GetVersion(bucket, key, version, hydration, parts);
  if (!record.ok()) return VersionError(record.status());
  return record;
}

absl::Status VersionMissing(Ctx& ctx, const std::optional<std::string>& version) {
  RETURN_IF_ERROR(RequireBucket(ctx).status());
  if (version) return S3Error(S3Code::kNoSuchVersion);
  ASSIGN_OR_RETURN(auto newest, ctx.svc.meta.GetVersion(ctx.req.bucket, ctx.req.key, std::nullopt,
                                                        MetaStore::Hydration::kNone));
  if (newest && newest->delete_marker()) SetVersionHeaders(ctx.ex, *newest, true);
  return S3Error(S3Code::kNoSuchKey);
}

absl::Status PutBucketVersioning(Ctx& ctx) {
  RETURN_IF_ERROR(Require(ctx, v1::Grant::OWNER));
  RETURN_IF_ERROR(RequireBucket(ctx).status());
  ASSIGN_OR_RETURN(std::string body, ReadWholeBody(ctx, kMaxVersioningBodyBytes));
  ASSIGN_OR_RETURN(v1::BucketRecord::Versioning state, ParseVersioning(body));
  absl::Status s = ctx.svc.meta.UpdateBucket(ctx.req.bucket, [&](v1::BucketRecord& b) {
    if (b.object_lock() && state != v1::BucketRecord::ENABLED) {
      return S3Error(S3Code::kInvalidBucketState,
                     "An Object Lock configuration is present on this bucket, so the "
                     "versioning state cannot be changed.");
    }
    b.set_versioning(state);
    return absl::OkStatus();
  });
  if (absl::IsNotFound(s) && !IsS3Error(s)) return S3Error(S3Code::kNoSuchBucket);
  RETURN_IF_ERROR(s);
  return ctx.ex.Send(200, "");
}

absl::Status GetBucketVersioning(Ctx& ctx) {
  RETURN_IF_ERROR(Require(ctx, v1::Grant::READ));
  ASSIGN_OR_RETURN(v1::BucketRecord bucket, RequireBucket(ctx));
  XmlDoc doc("VersioningConfiguration");  // never versioned: no Status element
  if (bucket.versioning() == v1::BucketRecord::ENABLED) {
    XmlDoc::Add(doc.root(), "Status", "Enabled");
  } else if (bucket.versioning() == v1::BucketRecord::SUSPENDED) {
    XmlDoc::Add(doc.root(), "Status", "Suspended");
  }
  return SendXml(ctx, doc.ToString());
}

absl::StatusOr<v1::ObjectRecord> ReadNamedVersion(Ctx& ctx, MetaStore::Hydration hydration) {
  ASSIGN_OR_RETURN(std::optional<std::string> version, VersionParam(ctx.req.query));
  ASSIGN_OR_RETURN(auto record, ReadVersion(ctx, ctx.req.bucket, ctx.req.key, version, hydration));
  if (!record) return VersionMissing(ctx, version);
  SetVersionHeaders(ctx.ex, *record, version.has_value());
  if (record->delete_marker()) return S3Error(S3Code::kMethodNotAllowed);
  return *std::move(record);
}

}  // namespace mosaic::gateway
