// GetBucketAcl, GetObjectAcl, PutBucketAcl, PutObjectAcl as S3 answers them for a bucket whose
// ACLs are disabled (Object Ownership "bucket owner enforced", S3's default since April 2023,
// and what every Mosaic bucket is: rights come from access keys' grants). Reading an ACL
// shows the bucket's owner with FULL_CONTROL, for the bucket and every object in it; setting
// one is AccessControlListNotSupported, except a canned ACL that changes nothing (private,
// bucket-owner-full-control, bucket-owner-read), which succeeds as S3's does.

#include "common/status.h"
#include "server/gateway/s3/errors.h"
#include "server/gateway/s3/handler.h"
#include "server/gateway/s3/object_options.h"
#include "server/gateway/s3/versioning.h"
#include "server/gateway/s3/xml.h"

namespace mosaic::gateway {
namespace {

// The bucket's owner: the key that created it, or (a bucket recorded without one) the caller.
std::string OwnerOf(const Ctx& ctx, const v1::BucketRecord& bucket) {
  return bucket.owner_key_id().empty() ? ctx.who.key_id : bucket.owner_key_id();
}

absl::Status SendPolicy(Ctx& ctx, const std::string& owner) {
  XmlDoc doc("AccessControlPolicy");
  auto o = doc.root().append_child("Owner");
  XmlDoc::Add(o, "ID", owner);
  XmlDoc::Add(o, "DisplayName", owner);
  auto grant = doc.root().append_child("AccessControlList").append_child("Grant");
  auto grantee = grant.append_child("Grantee");
  grantee.append_attribute("xmlns:xsi") = "http://www.w3.org/2001/XMLSchema-instance";
  grantee.append_attribute("xsi:type") = "CanonicalUser";
  XmlDoc::Add(grantee, "ID", owner);
  XmlDoc::Add(grantee, "DisplayName", owner);
  XmlDoc::Add(grant, "Permission", "FULL_CONTROL");
  return SendXml(ctx, doc.ToString());
}

// A Put*Acl: an AccessControlPolicy body or a sharing ACL is refused; a canned ACL giving
// the owner alone rights is what the bucket already has.
absl::Status CheckPutAcl(Ctx& ctx) {
  const RequestView& request = ctx.ex.request();
  RETURN_IF_ERROR(CheckAcl(request, S3Code::kAccessControlListNotSupported));
  bool body = ctx.body.declared_length().value_or(0) > 0;
  if (body || !request.HasHeader("x-amz-acl")) {
    return S3Error(S3Code::kAccessControlListNotSupported);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status GetBucketAcl(Ctx& ctx) {
  RETURN_IF_ERROR(Require(ctx, v1::Grant::READ));
  ASSIGN_OR_RETURN(v1::BucketRecord bucket, RequireBucket(ctx));
  return SendPolicy(ctx, OwnerOf(ctx, bucket));
}

absl::Status GetObjectAcl(Ctx& ctx) {
  RETURN_IF_ERROR(Require(ctx, v1::Grant::READ));
  ASSIGN_OR_RETURN(v1::BucketRecord bucket, RequireBucket(ctx));
  RETURN_IF_ERROR(ReadNamedVersion(ctx, MetaStore::Hydration::kNone).status());
  return SendPolicy(ctx, OwnerOf(ctx, bucket));
}

absl::Status PutBucketAcl(Ctx& ctx) {
  RETURN_IF_ERROR(Require(ctx, v1::Grant::OWNER));
  RETURN_IF_ERROR(RequireBucket(ctx).status());
  RETURN_IF_ERROR(CheckPutAcl(ctx));
  return ctx.ex.Send(200, "");
}

absl::Status PutObjectAcl(Ctx& ctx) {
  RETURN_IF_ERROR(Require(ctx, v1::Grant::WRITE));
  RETURN_IF_ERROR(RequireBucket(ctx).status());
  RETURN_IF_ERROR(ReadNamedVersion(ctx, MetaStore::Hydration::kNone).status());
  RETURN_IF_ERROR(CheckPutAcl(ctx));
  return ctx.ex.Send(200, "");
}

}  // namespace mosaic::gateway
