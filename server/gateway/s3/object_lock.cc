// Object Lock's handlers and headers (object_lock.h).

#include "server/gateway/s3/object_lock.h"

#include <pugixml.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "common/bytes.h"
#include "common/status.h"
#include "server/gateway/s3/checksum.h"
#include "server/gateway/s3/errors.h"
#include "server/gateway/s3/object_options.h"
#include "server/gateway/s3/request_body.h"
#include "server/gateway/s3/versioning.h"
#include "server/gateway/s3/xml.h"

namespace mosaic::gateway {
namespace {

constexpr size_t kMaxLockBodyBytes = 64 * 1024;
constexpr int64_t kDayMs = 24 * 3600 * 1000LL;

bool ValidMode(std::string_view mode) { return mode == "GOVERNANCE" || mode == "COMPLIANCE"; }

absl::Status MissingLockConfiguration() {
  return S3Error(S3Code::kInvalidRequest, "Bucket is missing Object Lock Configuration");
}

absl::Status NotInFuture() {
  return S3Error(S3Code::kInvalidArgument, "The retain until date must be in the future!");
}

bool HasIntegrityHeader(const RequestView& request) {
  if (request.HasHeader("content-md5")) return true;
  for (const auto& [name, value] : request.headers) {
    if (AlgorithmFromHeaderName(name)) return true;
  }
  return false;
}

absl::StatusOr<v1::BucketRecord> LockBucket(Ctx& ctx) {
  ASSIGN_OR_RETURN(v1::BucketRecord bucket, RequireBucket(ctx));
  if (!bucket.object_lock()) return MissingLockConfiguration();
  return bucket;
}

absl::StatusOr<pugi::xml_node> LoadRoot(pugi::xml_document& doc, std::string_view body,
                                        const char* root_name) {
  RETURN_IF_ERROR(LoadXml(doc, body, kSmallConfigXml));
  pugi::xml_node root = doc.child(root_name);
  if (!root) return S3Error(S3Code::kMalformedXML);
  return root;
}

// Whether changing a version's retention to (mode, until) is allowed at `now_ms`: a
// retention in force may be extended (and GOVERNANCE made COMPLIANCE) by anyone; shortened,
// removed or COMPLIANCE made GOVERNANCE only in GOVERNANCE with the bypass.
absl::Status CheckRetentionChange(const v1::ObjectRecord& r, const std::string& mode,
                                  int64_t until_ms, bool bypass, int64_t now_ms) {
  if (r.lock_mode().empty() || r.retain_until_ms() <= now_ms) return absl::OkStatus();
  bool extends = !mode.empty() && until_ms >= r.retain_until_ms() &&
                 (mode == "COMPLIANCE" || r.lock_mode() == "GOVERNANCE");
  if (extends) return absl::OkStatus();
  if (r.lock_mode() == "GOVERNANCE" && bypass) return absl::OkStatus();
  return S3Error(S3Code::kAccessDenied, "Access Denied because object protected by object lock.");
}

absl::StatusOr<bool> Bypass(Ctx& ctx) {
  std::string_view value = ctx.ex.request().Header("x-amz-bypass-governance-retention");
  if (!absl::EqualsIgnoreCase(ToAbsl(value), "true")) return false;
  if (!ctx.who.Allows(ctx.req.bucket, v1::Grant::OWNER)) return S3Error(S3Code::kAccessDenied);
  return true;
}

// Changes the version named by the request (versionId, else the current object).
absl::Status ChangeVersion(Ctx& ctx, const MetaStore::VersionChange& change) {
  ASSIGN_OR_RETURN(std::optional<std::string> version, VersionParam(ctx.req.query));
  v1::ObjectRecord changed;
  auto found = ctx.svc.meta.UpdateVersion(ctx.req.bucket, ctx.req.key, version,
                                          [&](v1::ObjectRecord& r) -> absl::Status {
                                            if (r.delete_marker())
                                              return S3Error(S3Code::kMethodNotAllowed);
                                            RETURN_IF_ERROR(change(r));
                                            changed = r;
                                            return absl::OkStatus();
                                          });
  if (!found.ok()) return VersionError(found.status());
  if (!*found) return VersionMissing(ctx, version);
  SetVersionHeaders(ctx.ex, changed, version.has_value());
  return ctx.ex.Send(200, "");
}

// The version named by the request, not a delete marker.
absl::StatusOr<v1::ObjectRecord> ReadLockedVersion(Ctx& ctx) {
  RETURN_IF_ERROR(Require(ctx, v1::Grant::READ));
  RETURN_IF_ERROR(LockBucket(ctx).status());
  ASSIGN_OR_RETURN(std::optional<std::string> version, VersionParam(ctx.req.query));
  ASSIGN_OR_RETURN(auto record, ReadVersion(ctx, ctx.req.bucket, ctx.req.key, version,
                                            MetaStore::Hydration::kNone));
  if (!record) return VersionMissing(ctx, version);
  if (record->delete_marker()) return S3Error(S3Code::kMethodNotAllowed);
  return *record;
}

}  // namespace

int64_t ParseIsoDate(std::string_view text) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &err)) return -1;
  return absl::ToUnixMillis(t);
}

absl::StatusOr<LockRequest> LockFromHeaders(const RequestView& request,
                                            const v1::BucketRecord& bucket, bool needs_integrity) {
  LockRequest out;
  bool has_mode = request.HasHeader("x-amz-object-lock-mode");
  bool has_date = request.HasHeader("x-amz-object-lock-retain-until-date");
  bool has_hold = request.HasHeader("x-amz-object-lock-legal-hold");
  out.any = has_mode || has_date || has_hold;
  if (!out.any) return out;
  if (!bucket.object_lock()) return MissingLockConfiguration();
  if (has_mode != has_date) {
    return S3Error(S3Code::kInvalidArgument,
                   "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be "
                   "supplied");
  }
  if (has_mode) {
    out.mode = std::string(request.Header("x-amz-object-lock-mode"));
    if (!ValidMode(out.mode)) {
      return S3Error(S3Code::kInvalidArgument, "Unknown wormMode directive.");
    }
    out.retain_until_ms = ParseIsoDate(request.Header("x-amz-object-lock-retain-until-date"));
    if (out.retain_until_ms < 0) {
      return S3Error(S3Code::kInvalidArgument,
                     "The retain until date must be provided in ISO 8601 format");
    }
    if (out.retain_until_ms <= NowMs()) return NotInFuture();
  }
  if (has_hold) {
    std::string_view hold = request.Header("x-amz-object-lock-legal-hold");
    if (hold != "ON" && hold != "OFF") {
      return S3Error(S3Code::kInvalidArgument, "Legal Hold must be either of 'ON' or 'OFF'");
    }
    out.legal_hold = hold == "ON";
    out.legal_hold_set = true;
  }
  if (needs_integrity && !HasIntegrityHeader(request)) {
    return S3Error(S3Code::kInvalidRequest,
                   "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object "
                   "requests with Object Lock parameters");
  }
  return out;
}

absl::Status RequireIntegrityHeader(const RequestView& request) {
  if (HasIntegrityHeader(request)) return absl::OkStatus();
  return S3Error(S3Code::kInvalidRequest,
                 "Missing required header for this request: Content-MD5 OR x-amz-checksum-*");
}

void ApplyLock(const LockRequest& lock, v1::ObjectRecord& record) {
  record.set_lock_mode(lock.mode);
  record.set_retain_until_ms(lock.retain_until_ms);
  record.set_legal_hold(lock.legal_hold);
  record.set_legal_hold_set(lock.legal_hold_set);
}

void SetLockHeaders(Exchange& ex, const v1::ObjectRecord& record) {
  if (!record.lock_mode().empty()) {
    ex.SetHeader("x-amz-object-lock-mode", record.lock_mode());
    ex.SetHeader("x-amz-object-lock-retain-until-date", Iso8601(record.retain_until_ms()));
  }
  if (record.legal_hold()) ex.SetHeader("x-amz-object-lock-legal-hold", "ON");
}

absl::Status PutObjectLockConfiguration(Ctx& ctx) {
  RETURN_IF_ERROR(Require(ctx, v1::Grant::OWNER));
  RETURN_IF_ERROR(RequireBucket(ctx).status());
  RETURN_IF_ERROR(RequireIntegrityHeader(ctx.ex.request()));
  ASSIGN_OR_RETURN(std::string body, ReadWholeBody(ctx, kMaxLockBodyBytes));
  pugi::xml_document doc;
  ASSIGN_OR_RETURN(pugi::xml_node root, LoadRoot(doc, body, "ObjectLockConfiguration"));
  if (std::string_view(root.child("ObjectLockEnabled").text().get()) != "Enabled") {
    return S3Error(S3Code::kMalformedXML);
  }
  std::string mode;
  uint32_t days = 0, years = 0;
  if (pugi::xml_node retention = root.child("Rule").child("DefaultRetention")) {
    mode = retention.child("Mode").text().get();
    bool has_days = !retention.child("Days").empty();
    bool has_years = !retention.child("Years").empty();
    if (!ValidMode(mode) || has_days == has_years) return S3Error(S3Code::kMalformedXML);
    int n = 0;
    if (!absl::SimpleAtoi(retention.child(has_days ? "Days" : "Years").text().get(), &n) ||
        n <= 0 || n > (has_days ? 36500 : 100)) {
      return S3Error(S3Code::kInvalidRetentionPeriod,
                     "Default retention period must be a positive integer value.");
    }
    (has_days ? days : years) = static_cast<uint32_t>(n);
  }
  absl::Status s = ctx.svc.meta.UpdateBucket(ctx.req.bucket, [&](v1::BucketRecord& b) {
    // A versioned bucket may turn Object Lock on (as S3 allows since 2023); never off.
    if (!b.object_lock() && b.versioning() != v1::BucketRecord::ENABLED) {
      return S3Error(S3Code::kInvalidBucketState,
                     "Versioning must be 'Enabled' on the bucket to apply a Object Lock "
                     "configuration");
    }
    b.set_object_lock(true);
    b.set_default_lock_mode(mode);
    b.set_default_lock_days(days);
    b.set_default_lock_years(years);
    return absl::OkStatus();
  });
  if (absl::IsNotFound(s) && !IsS3Error(s)) return S3Error(S3Code::kNoSuchBucket);
  RETURN_IF_ERROR(s);
  return ctx.ex.Send(200, "");
}

absl::Status GetObjectLockConfiguration(Ctx& ctx) {
  RETURN_IF_ERROR(Require(ctx, v1::Grant::READ));
  ASSIGN_OR_RETURN(v1::BucketRecord bucket, RequireBucket(ctx));
  if (!bucket.object_lock()) return S3Error(S3Code::kObjectLockConfigurationNotFoundError);
  XmlDoc doc("ObjectLockConfiguration");
  XmlDoc::Add(doc.root(), "ObjectLockEnabled", "Enabled");
  if (!bucket.default_lock_mode().empty()) {
    auto retention = doc.root().append_child("Rule").append_child("DefaultRetention");
    XmlDoc::Add(retention, "Mode", bucket.default_lock_mode());
    if (bucket.default_lock_days() > 0) {
      XmlDoc::Add(retention, "Days", std::to_string(bucket.default_lock_days()));
    } else {
      XmlDoc::Add(retention, "Years", std::to_string(bucket.default_lock_years()));
    }
  }
  return SendXml(ctx, doc.ToString());
}

absl::Status PutObjectRetention(Ctx& ctx) {
  RETURN_IF_ERROR(Require(ctx, v1::Grant::WRITE));
  RETURN_IF_ERROR(LockBucket(ctx).status());
  ASSIGN_OR_RETURN(bool bypass, Bypass(ctx));
  ASSIGN_OR_RETURN(std::string body, ReadWholeBody(ctx, kMaxLockBodyBytes));
  pugi::xml_document doc;
  ASSIGN_OR_RETURN(pugi::xml_node root, LoadRoot(doc, body, "Retention"));
  std::string mode = root.child("Mode").text().get();
  std::string date = root.child("RetainUntilDate").text().get();
  int64_t until_ms = 0;
  if (!mode.empty() || !date.empty()) {
    if (!ValidMode(mode)) return S3Error(S3Code::kMalformedXML);
    until_ms = ParseIsoDate(date);
    if (until_ms < 0) return S3Error(S3Code::kMalformedXML);
    if (until_ms <= NowMs()) return NotInFuture();
  }
  return ChangeVersion(ctx, [&](v1::ObjectRecord& r) -> absl::Status {
    RETURN_IF_ERROR(CheckRetentionChange(r, mode, until_ms, bypass, NowMs()));
    r.set_lock_mode(mode);
    r.set_retain_until_ms(until_ms);
    return absl::OkStatus();
  });
}

absl::Status GetObjectRetention(Ctx& ctx) {
  ASSIGN_OR_RETURN(v1::ObjectRecord record, ReadLockedVersion(ctx));
  if (record.lock_mode().empty()) return S3Error(S3Code::kNoSuchObjectLockConfiguration);
  XmlDoc doc("Retention");
  XmlDoc::Add(doc.root(), "Mode", record.lock_mode());
  XmlDoc::Add(doc.root(), "RetainUntilDate", Iso8601(record.retain_until_ms()));
  return SendXml(ctx, doc.ToString());
}

absl::Status PutObjectLegalHold(Ctx& ctx) {
  RETURN_IF_ERROR(Require(ctx, v1::Grant::WRITE));
  RETURN_IF_ERROR(LockBucket(ctx).status());
  ASSIGN_OR_RETURN(std::string body, ReadWholeBody(ctx, kMaxLockBodyBytes));
  pugi::xml_document doc;
  ASSIGN_OR_RETURN(pugi::xml_node root, LoadRoot(doc, body, "LegalHold"));
  std::string_view status = root.child("Status").text().get();
  if (status != "ON" && status != "OFF") return S3Error(S3Code::kMalformedXML);
  return ChangeVersion(ctx, [&](v1::ObjectRecord& r) {
    r.set_legal_hold(status == "ON");
    r.set_legal_hold_set(true);
    return absl::OkStatus();
  });
}

absl::Status GetObjectLegalHold(Ctx& ctx) {
  ASSIGN_OR_RETURN(v1::ObjectRecord record, ReadLockedVersion(ctx));
  // Never set (no header at the write, no PutObjectLegalHold): S3 has no configuration to
  // show. Records written before legal_hold_set existed show a hold that is ON.
  if (!record.legal_hold_set() && !record.legal_hold()) {
    return S3Error(S3Code::kNoSuchObjectLockConfiguration);
  }
  XmlDoc doc("LegalHold");
  XmlDoc::Add(doc.root(), "Status", record.legal_hold() ? "ON" : "OFF");
  return SendXml(ctx, doc.ToString());
}

}  // namespace mosaic::gateway
