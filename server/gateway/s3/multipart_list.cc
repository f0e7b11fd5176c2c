// ListParts and ListMultipartUploads: markers, max-parts / max-uploads (at most 1000),
// prefix and delimiter with CommonPrefixes, encoding-type=url (as list.cc).

#include "absl/strings/numbers.h"
#include "common/status.h"
#include "server/gateway/s3/errors.h"
#include "server/gateway/s3/handler.h"
#include "server/gateway/s3/multipart.h"
#include "server/gateway/s3/object_checksum.h"
#include "server/gateway/s3/sigv4.h"
#include "server/gateway/s3/xml.h"

namespace mosaic::gateway {
namespace {

constexpr int kMaxList = 1000;
constexpr size_t kScanBatch = 1000;

std::string Param(const Ctx& ctx, const char* name) {
  auto it = ctx.req.query.find(name);
  return it == ctx.req.query.end() ? "" : it->second;
}

// A non-negative integer parameter, `fallback` when absent, clamped to `max`.
absl::StatusOr<int64_t> IntParam(const Ctx& ctx, const char* name, int64_t fallback, int64_t max) {
  std::string v = Param(ctx, name);
  if (v.empty()) return fallback;
  int64_t n = 0;
  if (!absl::SimpleAtoi(v, &n) || n < 0) {
    return S3Error(S3Code::kInvalidArgument, std::string(name) + " must be a non-negative integer");
  }
  return std::min(n, max);
}

std::string Encode(const Ctx& ctx, const std::string& s) {
  return Param(ctx, "encoding-type") == "url" ? UriEncode(s, true) : s;
}

void AddPerson(pugi::xml_node parent, const char* name, const std::string& id) {
  auto p = parent.append_child(name);
  XmlDoc::Add(p, "ID", id);
  XmlDoc::Add(p, "DisplayName", id);
}

struct UploadListing {
  std::vector<UploadEntry> uploads;
  std::vector<std::string> prefixes;
  bool truncated = false;
  std::string next_key, next_upload;  // where the next page starts
};

// Uploads after (key_marker, upload_marker), folding keys under a common prefix. Uploads in
// progress are few, so keys folded into a prefix are skipped one by one, not seeked past.
absl::StatusOr<UploadListing> CollectUploads(Ctx& ctx, const std::string& prefix,
                                             const std::string& delimiter, std::string key_marker,
                                             std::string upload_marker, int max) {
  UploadListing out;
  // A key marker that is a common prefix (a page that ended on one) skips what folds into it.
  std::string skip;
  if (!delimiter.empty() && key_marker.size() > prefix.size() && key_marker.starts_with(prefix) &&
      key_marker.find(delimiter, prefix.size()) == key_marker.size() - delimiter.size()) {
    skip = key_marker;
  }
  int count = 0;
  while (true) {
    ASSIGN_OR_RETURN(auto batch, ctx.svc.meta.ListUploads(ctx.req.bucket, prefix, key_marker,
                                                          upload_marker, kScanBatch));
    if (batch.empty()) return out;
    for (UploadEntry& e : batch) {
      key_marker = e.key;
      upload_marker = e.record.upload_id();
      if (!skip.empty() && e.key.starts_with(skip)) continue;
      std::string folded;
      if (!delimiter.empty()) {
        size_t pos = e.key.find(delimiter, prefix.size());
        if (pos != std::string::npos) folded = e.key.substr(0, pos + delimiter.size());
      }
      if (count == max) {
        out.truncated = true;
        return out;
      }
      ++count;
      if (!folded.empty()) {
        out.prefixes.push_back(folded);
        out.next_key = folded;
        out.next_upload.clear();
        skip = folded;
        continue;
      }
      out.next_key = e.key;
      out.next_upload = e.record.upload_id();
      out.uploads.push_back(std::move(e));
    }
    if (batch.size() < kScanBatch) return out;
  }
}

}  // namespace

absl::Status ListParts(Ctx& ctx) {
  RETURN_IF_ERROR(Require(ctx, v1::Grant::READ));
  std::string upload_id = Param(ctx, "uploadId");
  ASSIGN_OR_RETURN(auto upload, ctx.svc.meta.GetUpload(ctx.req.bucket, ctx.req.key, upload_id));
  if (!upload) {
    RETURN_IF_ERROR(RequireBucket(ctx).status());
    return S3Error(S3Code::kNoSuchUpload);
  }
  ASSIGN_OR_RETURN(int64_t marker, IntParam(ctx, "part-number-marker", 0, kMaxPartNumber));
  ASSIGN_OR_RETURN(int64_t max, IntParam(ctx, "max-parts", kMaxList, kMaxList));
  ASSIGN_OR_RETURN(auto parts, ctx.svc.meta.ListParts(upload_id, static_cast<uint32_t>(marker),
                                                      static_cast<size_t>(max) + 1));
  bool truncated = parts.size() > static_cast<size_t>(max);
  if (truncated) parts.resize(max);
  XmlDoc doc("ListPartsResult");
  XmlDoc::Add(doc.root(), "Bucket", ctx.req.bucket);
  XmlDoc::Add(doc.root(), "Key", ctx.req.key);
  XmlDoc::Add(doc.root(), "UploadId", upload_id);
  AddPerson(doc.root(), "Initiator", upload->owner_key_id());
  AddPerson(doc.root(), "Owner", upload->owner_key_id());
  XmlDoc::Add(doc.root(), "StorageClass", "STANDARD");
  XmlDoc::Add(doc.root(), "PartNumberMarker", std::to_string(marker));
  if (!parts.empty()) {
    XmlDoc::Add(doc.root(), "NextPartNumberMarker", std::to_string(parts.back().number()));
  }
  XmlDoc::Add(doc.root(), "MaxParts", std::to_string(max));
  XmlDoc::Add(doc.root(), "IsTruncated", truncated ? "true" : "false");
  if (!upload->checksum_algorithm().empty()) {
    XmlDoc::Add(doc.root(), "ChecksumAlgorithm", upload->checksum_algorithm());
    XmlDoc::Add(doc.root(), "ChecksumType",
                upload->checksum_composite() ? "COMPOSITE" : "FULL_OBJECT");
  }
  for (const v1::ObjectPart& p : parts) {
    auto e = doc.root().append_child("Part");
    XmlDoc::Add(e, "PartNumber", std::to_string(p.number()));
    XmlDoc::Add(e, "LastModified", Iso8601(p.last_modified_ms()));
    XmlDoc::Add(e, "ETag", "\"" + p.etag() + "\"");
    XmlDoc::Add(e, "Size", std::to_string(p.manifest().size()));
    auto alg = StoredAlgorithm(upload->checksum_algorithm());
    if (alg && !p.checksum().empty()) {
      XmlDoc::Add(e, XmlElementOf(*alg).c_str(), Base64Encode(p.checksum()));
    }
  }
  return SendXml(ctx, doc.ToString());
}

absl::Status ListMultipartUploads(Ctx& ctx) {
  RETURN_IF_ERROR(Require(ctx, v1::Grant::READ));
  RETURN_IF_ERROR(RequireBucket(ctx).status());
  std::string encoding = Param(ctx, "encoding-type");
  if (!encoding.empty() && encoding != "url") {
    return S3Error(S3Code::kInvalidArgument, "Invalid Encoding Method specified in Request");
  }
  ASSIGN_OR_RETURN(int64_t max, IntParam(ctx, "max-uploads", kMaxList, kMaxList));
  std::string prefix = Param(ctx, "prefix"), delimiter = Param(ctx, "delimiter");
  std::string key_marker = Param(ctx, "key-marker");
  // S3 ignores the upload id marker without a key marker.
  std::string upload_marker = key_marker.empty() ? "" : Param(ctx, "upload-id-marker");
  ASSIGN_OR_RETURN(UploadListing l, CollectUploads(ctx, prefix, delimiter, key_marker,
                                                   upload_marker, static_cast<int>(max)));
  XmlDoc doc("ListMultipartUploadsResult");
  XmlDoc::Add(doc.root(), "Bucket", ctx.req.bucket);
  XmlDoc::Add(doc.root(), "KeyMarker", Encode(ctx, key_marker));
  XmlDoc::Add(doc.root(), "UploadIdMarker", upload_marker);
  if (l.truncated) {
    XmlDoc::Add(doc.root(), "NextKeyMarker", Encode(ctx, l.next_key));
    XmlDoc::Add(doc.root(), "NextUploadIdMarker", l.next_upload);
  }
  if (!delimiter.empty()) XmlDoc::Add(doc.root(), "Delimiter", Encode(ctx, delimiter));
  XmlDoc::Add(doc.root(), "Prefix", Encode(ctx, prefix));
  XmlDoc::Add(doc.root(), "MaxUploads", std::to_string(max));
  XmlDoc::Add(doc.root(), "IsTruncated", l.truncated ? "true" : "false");
  if (encoding == "url") XmlDoc::Add(doc.root(), "EncodingType", "url");
  for (const UploadEntry& e : l.uploads) {
    auto u = doc.root().append_child("Upload");
    XmlDoc::Add(u, "Key", Encode(ctx, e.key));
    XmlDoc::Add(u, "UploadId", e.record.upload_id());
    AddPerson(u, "Initiator", e.record.owner_key_id());
    AddPerson(u, "Owner", e.record.owner_key_id());
    XmlDoc::Add(u, "StorageClass", "STANDARD");
    XmlDoc::Add(u, "Initiated", Iso8601(e.record.initiated_ms()));
    if (!e.record.checksum_algorithm().empty()) {
      XmlDoc::Add(u, "ChecksumAlgorithm", e.record.checksum_algorithm());
    }
  }
  for (const std::string& p : l.prefixes) {
    XmlDoc::Add(doc.root().append_child("CommonPrefixes"), "Prefix", Encode(ctx, p));
  }
  return SendXml(ctx, doc.ToString());
}

}  // namespace mosaic::gateway
