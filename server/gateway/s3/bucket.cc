// Bucket operations: ListBuckets, CreateBucket, DeleteBucket, HeadBucket,
// GetBucketLocation (Put/GetBucketVersioning: versioning.cc).

#include "server/gateway/s3/bucket.h"

#include <cstdint>
#include <map>
#include <pugixml.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "common/bytes.h"
#include "common/status.h"
#include "server/gateway/s3/errors.h"
#include "server/gateway/s3/handler.h"
#include "server/gateway/s3/object_options.h"
#include "server/gateway/s3/xml.h"

namespace mosaic::gateway {

bool Principal::Covers(const v1::Grant& wanted) const {
  for (const v1::Grant& g : grants) {
    if ((g.bucket() == "*" || g.bucket() == wanted.bucket()) && g.right() >= wanted.right() &&
        wanted.prefix().starts_with(g.prefix())) {
      return true;
    }
  }
  return false;
}

bool Principal::Allows(const std::string& bucket, v1::Grant::Right right) const {
  return AllowsKey(bucket, "", right);
}

bool Principal::AllowsKey(const std::string& bucket, const std::string& key,
                          v1::Grant::Right right) const {
  v1::Grant wanted;
  wanted.set_bucket(bucket);
  wanted.set_right(right);
  wanted.set_prefix(key);
  return Covers(wanted);
}

bool Principal::HasAnyGrantOn(const std::string& bucket) const {
  for (const v1::Grant& g : grants) {
    if ((g.bucket() == "*" || g.bucket() == bucket) && g.right() >= v1::Grant::READ) return true;
  }
  return false;
}

bool ValidBucketName(const std::string& name) {
  if (name.size() < 3 || name.size() > 63) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) return false;
  }
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name.front()) || !alnum(name.back())) return false;
  // Every dot-separated label starts and ends with a letter or digit, as in DNS (S3 refuses
  // "a..b", "a.-b", "a-.b"): virtual-hosted-style addressing needs the name to be a host name.
  for (const char* bad : {"..", ".-", "-."}) {
    if (name.find(bad) != std::string::npos) return false;
  }
  // Prefixes and suffixes S3 reserves for its own names (access points, aliases, …).
  for (const char* prefix : {"xn--", "sthree-", "amzn-s3-demo-"}) {
    if (name.starts_with(prefix)) return false;
  }
  for (const char* suffix : {"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"}) {
    if (name.ends_with(suffix)) return false;
  }
  int dots = 0;
  bool all_digits_and_dots = true;
  for (char c : name) {
    if (c == '.')
      ++dots;
    else if (c < '0' || c > '9')
      all_digits_and_dots = false;
  }
  return !(dots == 3 && all_digits_and_dots);  // not an IP address
}

absl::Status SendXml(Ctx& ctx, const std::string& xml, int status) {
  ctx.ex.SetHeader("Content-Type", "application/xml");
  return ctx.ex.Send(status, xml);
}

absl::StatusOr<v1::BucketRecord> RequireBucket(Ctx& ctx) {
  ASSIGN_OR_RETURN(auto bucket, ctx.svc.meta.GetBucket(ctx.req.bucket));
  if (!bucket) return S3Error(S3Code::kNoSuchBucket);
  return *bucket;
}

namespace {

// What a prefix-limited grant is checked against: the object's key, a listing's prefix
// parameter, and "" for every other bucket operation (only whole-bucket grants allow those).
std::string ScopeOf(const S3Request& req) {
  if (!req.key.empty()) return req.key;
  switch (req.op) {
    case Operation::kListObjects:
    case Operation::kListObjectsV2:
    case Operation::kListObjectVersions:
    case Operation::kListMultipartUploads: {
      auto it = req.query.find("prefix");
      return it == req.query.end() ? "" : it->second;
    }
    default:
      return "";
  }
}

}  // namespace

absl::Status Require(Ctx& ctx, v1::Grant::Right right) {
  if (ctx.who.AllowsKey(ctx.req.bucket, ScopeOf(ctx.req), right)) return absl::OkStatus();
  return S3Error(S3Code::kAccessDenied);
}

namespace {

// ListBuckets' parameters: prefix, bucket-region, max-buckets (1..10000) and
// continuation-token (the last name of the previous page, base64url).
struct BucketsQuery {
  std::string prefix, region, after;
  size_t max = SIZE_MAX;
};

absl::StatusOr<BucketsQuery> ParseBucketsQuery(const std::map<std::string, std::string>& q) {
  BucketsQuery out;
  auto get = [&](const char* name) {
    auto it = q.find(name);
    return it == q.end() ? std::string() : it->second;
  };
  out.prefix = get("prefix");
  out.region = get("bucket-region");
  if (q.contains("max-buckets")) {
    int n = 0;
    if (!absl::SimpleAtoi(get("max-buckets"), &n) || n < 1 || n > 10000) {
      return S3Error(S3Code::kInvalidArgument, "max-buckets must be between 1 and 10000");
    }
    out.max = static_cast<size_t>(n);
  }
  if (std::string token = get("continuation-token"); !token.empty()) {
    if (!absl::WebSafeBase64Unescape(token, &out.after) || out.after.empty()) {
      return S3Error(S3Code::kInvalidArgument, "The continuation token provided is incorrect");
    }
  }
  return out;
}

}  // namespace

absl::Status ListBuckets(Ctx& ctx) {
  ASSIGN_OR_RETURN(BucketsQuery query, ParseBucketsQuery(ctx.req.query));
  ASSIGN_OR_RETURN(auto buckets, ctx.svc.meta.ListBuckets());
  XmlDoc doc("ListAllMyBucketsResult");
  auto owner = doc.root().append_child("Owner");
  XmlDoc::Add(owner, "ID", ctx.who.key_id);
  XmlDoc::Add(owner, "DisplayName", ctx.who.key_id);
  auto list = doc.root().append_child("Buckets");
  size_t count = 0;
  std::string last, next;  // the last name listed; the next page's token, if there is one
  for (const auto& [name, record] : buckets) {  // in name order
    if (name <= query.after || !name.starts_with(query.prefix)) continue;
    if (!query.region.empty() && record.region() != query.region) continue;
    if (!ctx.who.HasAnyGrantOn(name)) continue;
    if (count == query.max) {
      absl::WebSafeBase64Escape(last, &next);
      break;
    }
    ++count;
    last = name;
    auto b = list.append_child("Bucket");
    XmlDoc::Add(b, "Name", name);
    XmlDoc::Add(b, "CreationDate", Iso8601(record.created_ms()));
    XmlDoc::Add(b, "BucketRegion", record.region());
  }
  if (!next.empty()) XmlDoc::Add(doc.root(), "ContinuationToken", next);
  if (ctx.req.query.contains("prefix")) XmlDoc::Add(doc.root(), "Prefix", query.prefix);
  return SendXml(ctx, doc.ToString());
}

absl::StatusOr<std::string> ParseCreateBucketConfiguration(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return std::string();
  pugi::xml_document doc;
  RETURN_IF_ERROR(LoadXml(doc, body, kSmallConfigXml));
  pugi::xml_node root = doc.child("CreateBucketConfiguration");
  if (!root) return S3Error(S3Code::kMalformedXML);
  std::string location = root.child("LocationConstraint").text().as_string();
  // A region name ("eu-west-3"): it is echoed in a header (x-amz-bucket-region) and stored
  // in a proto3 string, so neither CR/LF nor bytes that are not UTF-8 may get through.
  if (location.size() > 64 ||
      location.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos) {
    return S3Error(S3Code::kInvalidLocationConstraint);
  }
  return location;
}

// The LocationConstraint of a CreateBucket body (ParseCreateBucketConfiguration).
absl::StatusOr<std::string> ReadLocation(Ctx& ctx) {
  std::string body;
  char buf[4096];
  while (true) {
    ASSIGN_OR_RETURN(size_t n, ctx.body.Read({reinterpret_cast<std::byte*>(buf), sizeof buf}));
    if (n == 0) break;
    body.append(buf, n);
    if (body.size() > 64 * 1024) return S3Error(S3Code::kMalformedXML, "body too large");
  }
  RETURN_IF_ERROR(ctx.body.Finish());
  return ParseCreateBucketConfiguration(body);
}

namespace {

// CreateBucket of a bucket that exists. The key that created it owns it (a bucket recorded
// without an owner, by an older gateway, is owned by every key with the OWNER right on it):
// in us-east-1 S3 answers its owner 200 again (elsewhere BucketAlreadyOwnedByYou); any other
// caller gets BucketAlreadyExists, whatever its grants on the name.
absl::Status AlreadyExists(Ctx& ctx) {
  ASSIGN_OR_RETURN(auto existing, ctx.svc.meta.GetBucket(ctx.req.bucket));
  bool owned =
      existing && (existing->owner_key_id().empty() || existing->owner_key_id() == ctx.who.key_id);
  if (!owned) return S3Error(S3Code::kBucketAlreadyExists);
  if (ctx.svc.config.region != "us-east-1") return S3Error(S3Code::kBucketAlreadyOwnedByYou);
  ctx.ex.SetHeader("Location", "/" + ctx.req.bucket);
  return ctx.ex.Send(200, "");
}

// x-amz-object-ownership: BucketOwnerEnforced (ACLs disabled) is what every Mosaic bucket
// is; the other two settings keep ACLs working, which Mosaic has not: NotImplemented.
absl::Status CheckOwnership(const RequestView& request) {
  constexpr char kOwnership[] = "x-amz-object-ownership";
  if (!request.HasHeader(kOwnership)) return absl::OkStatus();
  std::string_view value = request.Header(kOwnership);
  if (value == "BucketOwnerEnforced") return absl::OkStatus();
  if (value == "BucketOwnerPreferred" || value == "ObjectWriter") {
    return S3Error(S3Code::kNotImplemented,
                   "Object Ownership " + std::string(value) +
                       " is not implemented by Mosaic: its buckets have no ACLs "
                       "(BucketOwnerEnforced)");
  }
  return S3Error(S3Code::kInvalidArgument, "Invalid x-amz-object-ownership header");
}

}  // namespace

absl::Status CreateBucket(Ctx& ctx) {
  if (!ValidBucketName(ctx.req.bucket)) return S3Error(S3Code::kInvalidBucketName);
  RETURN_IF_ERROR(Require(ctx, v1::Grant::OWNER));
  RETURN_IF_ERROR(CheckAcl(ctx.ex.request(), S3Code::kInvalidBucketAclWithObjectOwnership));
  RETURN_IF_ERROR(CheckOwnership(ctx.ex.request()));
  ASSIGN_OR_RETURN(std::string location, ReadLocation(ctx));
  v1::BucketRecord record;
  record.set_created_ms(NowMs());
  record.set_region(location.empty() ? ctx.svc.config.region : location);
  record.set_owner_key_id(ctx.who.key_id);
  // Object Lock needs versioning, on for good (PutBucketVersioning refuses to suspend it).
  if (absl::EqualsIgnoreCase(ToAbsl(ctx.ex.request().Header("x-amz-bucket-object-lock-enabled")),
                             "true")) {
    record.set_object_lock(true);
    record.set_versioning(v1::BucketRecord::ENABLED);
  }
  absl::Status s = ctx.svc.meta.CreateBucket(ctx.req.bucket, record);
  if (s.code() == absl::StatusCode::kAlreadyExists) return AlreadyExists(ctx);
  RETURN_IF_ERROR(s);
  ctx.ex.SetHeader("Location", "/" + ctx.req.bucket);
  return ctx.ex.Send(200, "");
}

absl::Status DeleteBucket(Ctx& ctx) {
  RETURN_IF_ERROR(Require(ctx, v1::Grant::OWNER));
  absl::Status s = ctx.svc.meta.DeleteBucket(ctx.req.bucket);
  if (s.code() == absl::StatusCode::kNotFound) return S3Error(S3Code::kNoSuchBucket);
  if (s.code() == absl::StatusCode::kFailedPrecondition) {
    return S3Error(S3Code::kBucketNotEmpty);
  }
  RETURN_IF_ERROR(s);
  return ctx.ex.Send(204, "");
}

absl::Status HeadBucket(Ctx& ctx) {
  RETURN_IF_ERROR(Require(ctx, v1::Grant::READ));
  ASSIGN_OR_RETURN(v1::BucketRecord bucket, RequireBucket(ctx));
  ctx.ex.SetHeader("x-amz-bucket-region", bucket.region());
  return ctx.ex.Send(200, "");
}

absl::Status GetBucketLocation(Ctx& ctx) {
  RETURN_IF_ERROR(Require(ctx, v1::Grant::READ));
  ASSIGN_OR_RETURN(v1::BucketRecord bucket, RequireBucket(ctx));
  XmlDoc doc("LocationConstraint");
  // us-east-1 is reported as an empty constraint, as S3 does.
  if (bucket.region() != "us-east-1") {
    doc.root().append_child(pugi::node_pcdata).set_value(bucket.region().c_str());
  }
  return SendXml(ctx, doc.ToString());
}

}  // namespace mosaic::gateway
