// ListObjects (v1) and ListObjectsV2: keys in byte order, prefix, delimiter with
// CommonPrefixes, max-keys, marker / continuation-token / start-after, fetch-owner,
// encoding-type=url.

#include "server/gateway/s3/list.h"

#include <atomic>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "common/status.h"
#include "server/gateway/s3/errors.h"
#include "server/gateway/s3/handler.h"
#include "server/gateway/s3/sigv4.h"
#include "server/gateway/s3/xml.h"

namespace mosaic::gateway {
namespace {

constexpr int kMaxKeys = 1000;
constexpr size_t kScanBatch = 1000;

struct Listing {
  std::vector<ObjectEntry> contents;
  std::vector<std::string> prefixes;
  bool truncated = false;
  std::string last;  // the last key or common prefix returned
  bool last_is_prefix = false;
};

std::string Param(const Ctx& ctx, const char* name) {
  auto it = ctx.req.query.find(name);
  return it == ctx.req.query.end() ? "" : it->second;
}

absl::StatusOr<int> MaxKeys(const Ctx& ctx) {
  std::string v = Param(ctx, "max-keys");
  if (v.empty()) return kMaxKeys;
  int n = 0;
  if (!absl::SimpleAtoi(v, &n) || n < 0) {
    return S3Error(S3Code::kInvalidArgument, "max-keys must be a non-negative integer");
  }
  return std::min(n, kMaxKeys);
}

std::atomic<uint64_t> records_read{0};

// Lists from `start` (inclusive). Keys under a common prefix fold into it and are skipped
// in one seek. With a delimiter, reads start with one record after every seek and double
// while the records read are listed: the records read past a common prefix (and wasted)
// are never more than those listed since the last seek, so a page reads O(max-keys)
// records however many keys fold into each of its prefixes (issue 14).
absl::StatusOr<Listing> Collect(Ctx& ctx, const std::string& prefix, const std::string& delimiter,
                                std::string start, int max_keys) {
  Listing out;
  if (max_keys == 0) return out;  // S3: nothing listed, and not truncated
  int count = 0;
  size_t batch = delimiter.empty() ? kScanBatch : 1;
  while (true) {
    // One more than the page holds: the record that tells it is truncated.
    size_t limit = std::min(batch, static_cast<size_t>(max_keys - count) + 1);
    ASSIGN_OR_RETURN(auto entries, ctx.svc.meta.ListObjects(ctx.req.bucket, prefix, start, limit));
    records_read += entries.size();
    bool reseek = false;
    for (ObjectEntry& e : entries) {
      std::string prefix_of_key;
      if (!delimiter.empty()) {
        size_t pos = e.key.find(delimiter, prefix.size());
        if (pos != std::string::npos) prefix_of_key = e.key.substr(0, pos + delimiter.size());
      }
      if (count == max_keys) {
        out.truncated = true;
        return out;
      }
      ++count;
      if (!prefix_of_key.empty()) {
        out.prefixes.push_back(prefix_of_key);
        out.last = prefix_of_key;
        out.last_is_prefix = true;
        start = PrefixSuccessor(prefix_of_key);
        if (start.empty()) return out;
        reseek = true;
        break;  // re-seek past the folded keys
      }
      out.last = e.key;
      out.last_is_prefix = false;
      start = e.key + std::string(1, '\0');
      out.contents.push_back(std::move(e));
    }
    if (!reseek && entries.size() < limit) return out;  // the end of the listing
    batch = reseek ? 1 : std::min(batch * 2, kScanBatch);
  }
}

std::string Encode(const Ctx& ctx, const std::string& s) {
  return Param(ctx, "encoding-type") == "url" ? UriEncode(s, true) : s;
}

void AddContents(Ctx& ctx, XmlDoc& doc, const Listing& l, bool owner) {
  for (const ObjectEntry& e : l.contents) {
    auto c = doc.root().append_child("Contents");
    XmlDoc::Add(c, "Key", Encode(ctx, e.key));
    XmlDoc::Add(c, "LastModified", Iso8601(e.record.last_modified_ms()));
    XmlDoc::Add(c, "ETag", "\"" + e.record.etag() + "\"");
    XmlDoc::Add(c, "Size", std::to_string(e.record.size()));
    XmlDoc::Add(c, "StorageClass", "STANDARD");
    if (owner) {
      auto o = c.append_child("Owner");
      XmlDoc::Add(o, "ID", ctx.who.key_id);
      XmlDoc::Add(o, "DisplayName", ctx.who.key_id);
    }
  }
  for (const std::string& p : l.prefixes) {
    XmlDoc::Add(doc.root().append_child("CommonPrefixes"), "Prefix", Encode(ctx, p));
  }
}

absl::Status Prepare(Ctx& ctx) {
  RETURN_IF_ERROR(Require(ctx, v1::Grant::READ));
  RETURN_IF_ERROR(RequireBucket(ctx).status());
  std::string encoding = Param(ctx, "encoding-type");
  if (!encoding.empty() && encoding != "url") {
    return S3Error(S3Code::kInvalidArgument, "Invalid Encoding Method specified in Request");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ListObjectsV2(Ctx& ctx) {
  RETURN_IF_ERROR(Prepare(ctx));
  ASSIGN_OR_RETURN(int max_keys, MaxKeys(ctx));
  std::string prefix = Param(ctx, "prefix"), delimiter = Param(ctx, "delimiter");
  std::string token = Param(ctx, "continuation-token");
  bool has_token = ctx.req.query.contains("continuation-token");
  std::string start_after = Param(ctx, "start-after");
  std::string start = start_after.empty() ? "" : start_after + std::string(1, '\0');
  if (!token.empty()) {
    std::string raw;
    if (!absl::WebSafeBase64Unescape(ToAbsl(token), &raw) || raw.empty() ||
        (raw[0] != 'k' && raw[0] != 'p')) {
      return S3Error(S3Code::kInvalidArgument, "The continuation token provided is incorrect");
    }
    start = raw[0] == 'p' ? PrefixSuccessor(raw.substr(1)) : raw.substr(1) + std::string(1, '\0');
  }
  ASSIGN_OR_RETURN(Listing l, Collect(ctx, prefix, delimiter, start, max_keys));
  XmlDoc doc("ListBucketResult");
  XmlDoc::Add(doc.root(), "Name", ctx.req.bucket);
  XmlDoc::Add(doc.root(), "Prefix", Encode(ctx, prefix));
  if (!delimiter.empty()) XmlDoc::Add(doc.root(), "Delimiter", Encode(ctx, delimiter));
  XmlDoc::Add(doc.root(), "MaxKeys", std::to_string(max_keys));
  XmlDoc::Add(doc.root(), "KeyCount", std::to_string(l.contents.size() + l.prefixes.size()));
  XmlDoc::Add(doc.root(), "IsTruncated", l.truncated ? "true" : "false");
  // Echoed when sent, even empty (an empty token starts from the beginning).
  if (has_token) XmlDoc::Add(doc.root(), "ContinuationToken", token);
  if (!start_after.empty()) XmlDoc::Add(doc.root(), "StartAfter", Encode(ctx, start_after));
  if (Param(ctx, "encoding-type") == "url") XmlDoc::Add(doc.root(), "EncodingType", "url");
  if (l.truncated) {
    std::string next;
    absl::WebSafeBase64Escape((l.last_is_prefix ? "p" : "k") + l.last, &next);
    XmlDoc::Add(doc.root(), "NextContinuationToken", next);
  }
  AddContents(ctx, doc, l, Param(ctx, "fetch-owner") == "true");
  return SendXml(ctx, doc.ToString());
}

absl::Status ListObjects(Ctx& ctx) {
  RETURN_IF_ERROR(Prepare(ctx));
  ASSIGN_OR_RETURN(int max_keys, MaxKeys(ctx));
  std::string prefix = Param(ctx, "prefix"), delimiter = Param(ctx, "delimiter");
  std::string marker = Param(ctx, "marker");
  std::string start = marker.empty() ? "" : marker + std::string(1, '\0');
  // A marker that is a common prefix of this listing (NextMarker of a page that ended on
  // one) skips the keys folded into it. Only then: a key that merely ends with the
  // delimiter ("a/" listed under prefix "a/") is an object, and what follows it is not
  // folded into it.
  if (!delimiter.empty() && marker.size() > prefix.size() && marker.starts_with(prefix) &&
      marker.find(delimiter, prefix.size()) == marker.size() - delimiter.size()) {
    start = std::max(start, PrefixSuccessor(marker));
  }
  ASSIGN_OR_RETURN(Listing l, Collect(ctx, prefix, delimiter, start, max_keys));
  XmlDoc doc("ListBucketResult");
  XmlDoc::Add(doc.root(), "Name", ctx.req.bucket);
  XmlDoc::Add(doc.root(), "Prefix", Encode(ctx, prefix));
  XmlDoc::Add(doc.root(), "Marker", Encode(ctx, marker));
  if (!delimiter.empty()) XmlDoc::Add(doc.root(), "Delimiter", Encode(ctx, delimiter));
  XmlDoc::Add(doc.root(), "MaxKeys", std::to_string(max_keys));
  XmlDoc::Add(doc.root(), "IsTruncated", l.truncated ? "true" : "false");
  if (Param(ctx, "encoding-type") == "url") XmlDoc::Add(doc.root(), "EncodingType", "url");
  // S3 sends NextMarker only with a delimiter; without one a client pages from the last Key.
  if (l.truncated && !delimiter.empty()) {
    XmlDoc::Add(doc.root(), "NextMarker", Encode(ctx, l.last));
  }
  AddContents(ctx, doc, l, true);
  return SendXml(ctx, doc.ToString());
}

uint64_t ListRecordsReadForTesting() { return records_read.load(); }

}  // namespace mosaic::gateway
