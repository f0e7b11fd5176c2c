#include "server/gateway/s3/router.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "common/bytes.h"
#include "common/status.h"
#include "server/gateway/s3/errors.h"
#include "server/gateway/s3/sigv4.h"
#include "server/gateway/s3/utf8.h"
#include "server/gateway/s3/xml.h"

namespace mosaic::gateway {
namespace {

constexpr const char* kNames[] = {
    "ListBuckets",
    "CreateBucket",
    "DeleteBucket",
    "HeadBucket",
    "GetBucketLocation",
    "GetBucketVersioning",
    "ListObjects",
    "ListObjectsV2",
    "PutObject",
    "GetObject",
    "HeadObject",
    "DeleteObject",
    "DeleteObjects",
    "CopyObject",
    "CreateMultipartUpload",
    "UploadPart",
    "UploadPartCopy",
    "CompleteMultipartUpload",
    "AbortMultipartUpload",
    "ListParts",
    "ListMultipartUploads",
    "GetObjectTagging",
    "PutObjectTagging",
    "DeleteObjectTagging",
    "GetObjectAttributes",
    "PutBucketVersioning",
    "ListObjectVersions",
    "PutObjectLockConfiguration",
    "GetObjectLockConfiguration",
    "PutObjectRetention",
    "GetObjectRetention",
    "PutObjectLegalHold",
    "GetObjectLegalHold",
    "PutBucketLifecycleConfiguration",
    "GetBucketLifecycleConfiguration",
    "DeleteBucketLifecycle",
    "GetBucketAcl",
    "PutBucketAcl",
    "GetObjectAcl",
    "PutObjectAcl",
    "BucketSubresource",
    "ObjectSubresource",
    "Unknown",
};
static_assert(sizeof(kNames) / sizeof(kNames[0]) == static_cast<size_t>(Operation::kUnknown) + 1);

absl::StatusOr<std::map<std::string, std::string>> ParseQuery(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    ASSIGN_OR_RETURN(std::string name, PercentDecode(pair.substr(0, eq), true));
    std::string value;
    if (eq != std::string_view::npos) {
      ASSIGN_OR_RETURN(value, PercentDecode(pair.substr(eq + 1), true));
    }
    out.emplace(std::move(name), std::move(value));
  }
  return out;
}

// Bucket subresources S3 has and Mosaic does not implement.
constexpr const char* kBucketSubresources[] = {
    "policy",      "cors",           "tagging",           "website",
    "logging",     "notification",   "replication",       "encryption",
    "accelerate",  "requestPayment", "ownershipControls", "publicAccessBlock",
    "analytics",   "metrics",        "inventory",         "intelligent-tiering",
    "policyStatus"};
constexpr const char* kObjectSubresources[] = {"torrent", "restore", "select"};

// ?acl on a bucket or an object: read, or set (acl.cc), as on an ACL-disabled S3 bucket.
Operation AclOperation(const std::string& method, Operation get, Operation put) {
  if (method == "GET") return get;
  if (method == "PUT") return put;
  return Operation::kUnknown;
}

template <size_t N>
std::string FindSubresource(const std::map<std::string, std::string>& q,
                            const char* const (&names)[N]) {
  for (const char* name : names) {
    if (q.contains(name)) return name;
  }
  return "";
}

Operation BucketOperation(const std::string& method, S3Request& r) {
  const auto& q = r.query;
  r.subresource = FindSubresource(q, kBucketSubresources);
  if (!r.subresource.empty()) return Operation::kOtherBucketSubresource;
  if (q.contains("acl")) {
    return AclOperation(method, Operation::kGetBucketAcl, Operation::kPutBucketAcl);
  }
  if (q.contains("lifecycle")) {
    if (method == "PUT") return Operation::kPutBucketLifecycleConfiguration;
    if (method == "GET") return Operation::kGetBucketLifecycleConfiguration;
    if (method == "DELETE") return Operation::kDeleteBucketLifecycle;
    return Operation::kUnknown;
  }
  if (q.contains("object-lock")) {
    if (method == "PUT") return Operation::kPutObjectLockConfiguration;
    if (method == "GET") return Operation::kGetObjectLockConfiguration;
    return Operation::kUnknown;
  }
  if (method == "GET") {
    if (q.contains("location")) return Operation::kGetBucketLocation;
    if (q.contains("versioning")) return Operation::kGetBucketVersioning;
    if (q.contains("uploads")) return Operation::kListMultipartUploads;
    if (q.contains("versions")) return Operation::kListObjectVersions;
    auto lt = q.find("list-type");
    if (lt != q.end() && lt->second == "2") return Operation::kListObjectsV2;
    return Operation::kListObjects;
  }
  if (method == "PUT") {
    if (q.contains("versioning")) return Operation::kPutBucketVersioning;
    return Operation::kCreateBucket;
  }
  if (method == "DELETE") return Operation::kDeleteBucket;
  if (method == "HEAD") return Operation::kHeadBucket;
  if (method == "POST" && q.contains("delete")) return Operation::kDeleteObjects;
  return Operation::kUnknown;
}

Operation ObjectOperation(const RequestView& req, S3Request& r) {
  const auto& q = r.query;
  const std::string& method = req.method;
  r.subresource = FindSubresource(q, kObjectSubresources);
  if (!r.subresource.empty()) return Operation::kOtherObjectSubresource;
  if (q.contains("acl")) {
    return AclOperation(req.method, Operation::kGetObjectAcl, Operation::kPutObjectAcl);
  }
  if (q.contains("retention")) {
    if (method == "PUT") return Operation::kPutObjectRetention;
    if (method == "GET") return Operation::kGetObjectRetention;
    return Operation::kUnknown;
  }
  if (q.contains("legal-hold")) {
    if (method == "PUT") return Operation::kPutObjectLegalHold;
    if (method == "GET") return Operation::kGetObjectLegalHold;
    return Operation::kUnknown;
  }
  if (q.contains("tagging")) {
    if (method == "GET") return Operation::kGetObjectTagging;
    if (method == "PUT") return Operation::kPutObjectTagging;
    if (method == "DELETE") return Operation::kDeleteObjectTagging;
    return Operation::kUnknown;
  }
  if (q.contains("attributes") && method == "GET") return Operation::kGetObjectAttributes;
  bool upload = q.contains("uploadId");
  if (method == "PUT") {
    bool copy = req.HasHeader("x-amz-copy-source");
    if (upload && q.contains("partNumber")) {
      return copy ? Operation::kUploadPartCopy : Operation::kUploadPart;
    }
    return copy ? Operation::kCopyObject : Operation::kPutObject;
  }
  if (method == "GET") return upload ? Operation::kListParts : Operation::kGetObject;
  if (method == "HEAD") return Operation::kHeadObject;
  if (method == "DELETE")
    return upload ? Operation::kAbortMultipartUpload : Operation::kDeleteObject;
  if (method == "POST") {
    if (q.contains("uploads")) return Operation::kCreateMultipartUpload;
    if (upload) return Operation::kCompleteMultipartUpload;
  }
  return Operation::kUnknown;
}

// The bucket from a virtual-hosted Host header ("photos.s3.example.org:9000"), or "".
// Host names are case-insensitive (RFC 3986 §3.2.2): both sides are compared in lower case.
std::string VirtualHostBucket(std::string_view host_header, std::string_view domain) {
  if (domain.empty()) return "";
  std::string host = absl::AsciiStrToLower(ToAbsl(host_header));
  size_t colon = host.rfind(':');
  if (colon != std::string::npos && host.find(']') == std::string::npos) host.resize(colon);
  std::string suffix = "." + absl::AsciiStrToLower(ToAbsl(domain));
  if (host.size() <= suffix.size() || !host.ends_with(suffix)) return "";
  host.resize(host.size() - suffix.size());
  return host;
}

// Request data that would end up in a response header or an XML document must fit there.
// Keys and query values with characters XML 1.0 cannot carry are refused (a key "a\0b"
// would cut every listing that shows it); the response-* overrides of GetObject, written as
// response headers, must also be free of CR, LF and every other control (response splitting).
// Keys and query values that are not UTF-8 are refused too: a listing (declared UTF-8)
// showing a key "a\xff" was no XML a client could parse, and proto3 records (completed
// uploads) cannot hold one.
absl::Status CheckRequestText(const S3Request& r) {
  if (!std::all_of(r.key.begin(), r.key.end(), IsXmlChar)) {
    return S3Error(S3Code::kInvalidArgument,
                   "Object keys cannot contain control characters other than tab, LF and CR");
  }
  if (!Utf8Chars(r.key)) return S3Error(S3Code::kInvalidArgument, "Object keys must be UTF-8");
  for (const auto& [name, value] : r.query) {
    bool header = name.starts_with("response-");
    if (!Utf8Chars(value)) {
      return S3Error(S3Code::kInvalidArgument, "The query parameter " + name + " is not UTF-8");
    }
    if (header ? !IsSafeHeaderValue(value) : !std::all_of(value.begin(), value.end(), IsXmlChar)) {
      return S3Error(S3Code::kInvalidArgument,
                     "The query parameter " + name + " contains a control character");
    }
  }
  return absl::OkStatus();
}

}  // namespace

const char* OperationName(Operation op) { return kNames[static_cast<int>(op)]; }

bool IsImplemented(Operation op) { return op < Operation::kOtherBucketSubresource; }

absl::StatusOr<std::string> PercentDecode(std::string_view s, bool plus_is_space) {
  std::string text(s);
  if (plus_is_space) std::replace(text.begin(), text.end(), '+', ' ');
  std::optional<std::string> decoded = PercentDecode(std::string_view(text));  // sigv4.h's
  if (!decoded) return S3Error(S3Code::kInvalidArgument, "bad percent-escape in the request URI");
  return *std::move(decoded);
}

absl::StatusOr<S3Request> Route(const RequestView& request, std::string_view domain) {
  S3Request r;
  ASSIGN_OR_RETURN(r.query, ParseQuery(request.RawQuery()));
  ASSIGN_OR_RETURN(std::string path, PercentDecode(request.RawPath(), false));
  if (path.empty() || path[0] != '/') {
    return S3Error(S3Code::kInvalidArgument, "the request target must start with /");
  }
  std::string host_bucket = VirtualHostBucket(request.Header("host"), domain);
  if (!host_bucket.empty()) {
    r.bucket = host_bucket;
    r.key = path.substr(1);
  } else {
    size_t slash = path.find('/', 1);
    r.bucket = path.substr(1, slash == std::string::npos ? std::string::npos : slash - 1);
    if (slash != std::string::npos) r.key = path.substr(slash + 1);
  }
  if (r.bucket.empty()) {
    r.op = request.method == "GET" ? Operation::kListBuckets : Operation::kUnknown;
  } else if (r.key.empty()) {
    r.op = BucketOperation(request.method, r);
  } else {
    r.op = ObjectOperation(request, r);
  }
  RETURN_IF_ERROR(CheckRequestText(r));
  return r;
}

}  // namespace mosaic::gateway
