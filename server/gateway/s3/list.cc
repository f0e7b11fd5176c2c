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
#include "server/gateway/s3/versioning.h"
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

// The common prefix `key` folds into (up to and with the first delimiter after `prefix`), or
// "" when it is listed on its own.
std::string CommonPrefixOf(const std::string& key, const std::string& prefix,
                           const std::string& delimiter) {
  if (delimiter.empty()) return "";
  size_t pos = key.find(delimiter, prefix.size());
  return pos == std::string::npos ? "" : key.substr(0, pos + delimiter.size());
}

// Lists from `start` (inclusive). Keys under a common prefix fold into it and are skipped
// in one seek. With a delimiter, reads start with one record after every seek and double
// while the records read are listed: the records read past a common prefix (and wasted)
// are never more than those listed since the last seek, so a page reads O(max-keys)
// records however many keys fold into each of its prefixes (issue 14).
// The paging loop of ListObjects and ListObjectVersions. `fetch(limit)` reads up to `limit`
// entries from the current position; `fold(p)` lists common prefix p and moves the position
// past its keys (false: nothing can follow); `take(e)` lists entry e and moves the position
// after it. Returns whether the page is truncated.
template <typename Entry, typename Fetch, typename Fold, typename Take>
absl::StatusOr<bool> Page(const std::string& prefix, const std::string& delimiter, int max_keys,
                          const Fetch& fetch, const Fold& fold, const Take& take) {
  int count = 0;
  size_t batch = delimiter.empty() ? kScanBatch : 1;
  while (max_keys > 0) {  // max-keys 0: nothing listed, and not truncated (S3)
    // One more than the page holds: the record that tells it is truncated.
    size_t limit = std::min(batch, static_cast<size_t>(max_keys - count) + 1);
    ASSIGN_OR_RETURN(std::vector<Entry> entries, fetch(limit));
    bool reseek = false;
    for (Entry& e : entries) {
      if (count == max_keys) return true;
      ++count;
      std::string prefix_of_key = CommonPrefixOf(e.key, prefix, delimiter);
      if (!prefix_of_key.empty()) {
        if (!fold(prefix_of_key)) return false;
        reseek = true;
        break;  // re-seek past the folded keys
      }
      take(e);
    }
    if (!reseek && entries.size() < limit) return false;  // the end of the listing
    batch = reseek ? 1 : std::min(batch * 2, kScanBatch);
  }
  return false;
}

absl::StatusOr<Listing> Collect(Ctx& ctx, const std::string& prefix, const std::string& delimiter,
                                std::string start, int max_keys) {
  Listing out;
  auto fetch = [&](size_t limit) -> absl::StatusOr<std::vector<ObjectEntry>> {
    ASSIGN_OR_RETURN(auto entries, ctx.svc.meta.ListObjects(ctx.req.bucket, prefix, start, limit));
    records_read += entries.size();
    return entries;
  };
  auto fold = [&](const std::string& p) {
    out.prefixes.push_back(p);
    out.last = p;
    out.last_is_prefix = true;
    start = PrefixSuccessor(p);
    return !start.empty();
  };
  auto take = [&](ObjectEntry& e) {
    out.last = e.key;
    out.last_is_prefix = false;
    start = e.key + std::string(1, '\0');
    out.contents.push_back(std::move(e));
  };
  ASSIGN_OR_RETURN(out.truncated,
                   Page<ObjectEntry>(prefix, delimiter, max_keys, fetch, fold, take));
  return out;
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

namespace {

struct VersionListing {
  std::vector<VersionEntry> versions;
  std::vector<std::string> prefixes;
  bool truncated = false;
  std::string next_key, next_version;  // where the next page starts (truncated only)
};

// Collect's way for versions: a page of (key, version) in key order, newest first within a
// key, folding keys into common prefixes with a re-seek past each.
absl::StatusOr<VersionListing> CollectVersions(Ctx& ctx, const std::string& prefix,
                                               const std::string& delimiter, std::string from,
                                               std::optional<std::string> after, int max_keys) {
  VersionListing out;
  auto fetch = [&](size_t limit) {
    return ctx.svc.meta.ListVersions(ctx.req.bucket, prefix, from, after, limit);
  };
  auto fold = [&](const std::string& p) {
    out.prefixes.push_back(p);
    out.next_key = p;
    out.next_version.clear();
    from = PrefixSuccessor(p);
    after.reset();
    return !from.empty();
  };
  auto take = [&](VersionEntry& e) {
    out.next_key = from = e.key;
    out.next_version = ShownId(e.record);
    after = out.next_version;
    out.versions.push_back(std::move(e));
  };
  ASSIGN_OR_RETURN(out.truncated,
                   Page<VersionEntry>(prefix, delimiter, max_keys, fetch, fold, take));
  return out;
}

void AddVersions(Ctx& ctx, XmlDoc& doc, const VersionListing& l) {
  for (const VersionEntry& e : l.versions) {
    const v1::ObjectRecord& r = e.record;
    auto v = doc.root().append_child(r.delete_marker() ? "DeleteMarker" : "Version");
    XmlDoc::Add(v, "Key", Encode(ctx, e.key));
    XmlDoc::Add(v, "VersionId", ShownId(r));
    XmlDoc::Add(v, "IsLatest", e.latest ? "true" : "false");
    XmlDoc::Add(v, "LastModified", Iso8601(r.last_modified_ms()));
    if (!r.delete_marker()) {
      XmlDoc::Add(v, "ETag", "\"" + r.etag() + "\"");
      XmlDoc::Add(v, "Size", std::to_string(r.size()));
      XmlDoc::Add(v, "StorageClass", "STANDARD");
    }
    auto o = v.append_child("Owner");
    XmlDoc::Add(o, "ID", ctx.who.key_id);
    XmlDoc::Add(o, "DisplayName", ctx.who.key_id);
  }
  for (const std::string& p : l.prefixes) {
    XmlDoc::Add(doc.root().append_child("CommonPrefixes"), "Prefix", Encode(ctx, p));
  }
}

}  // namespace

absl::Status ListObjectVersions(Ctx& ctx) {
  RETURN_IF_ERROR(Prepare(ctx));
  ASSIGN_OR_RETURN(int max_keys, MaxKeys(ctx));
  std::string prefix = Param(ctx, "prefix"), delimiter = Param(ctx, "delimiter");
  std::string key_marker = Param(ctx, "key-marker");
  std::string version_marker = Param(ctx, "version-id-marker");
  if (!version_marker.empty() && key_marker.empty()) {
    return S3Error(S3Code::kInvalidArgument,
                   "A version-id marker cannot be specified without a key marker.");
  }
  std::string from = key_marker.empty() ? "" : key_marker + std::string(1, '\0');
  std::optional<std::string> after;
  if (!version_marker.empty()) {
    from = key_marker;
    after = version_marker;
  } else if (!delimiter.empty() && key_marker.size() > prefix.size() &&
             key_marker.starts_with(prefix) &&
             key_marker.find(delimiter, prefix.size()) == key_marker.size() - delimiter.size()) {
    from = std::max(from, PrefixSuccessor(key_marker));  // a common prefix (ListObjects')
  }
  auto listed = CollectVersions(ctx, prefix, delimiter, from, after, max_keys);
  if (!listed.ok()) return VersionError(listed.status());
  const VersionListing& l = *listed;
  XmlDoc doc("ListVersionsResult");
  XmlDoc::Add(doc.root(), "Name", ctx.req.bucket);
  XmlDoc::Add(doc.root(), "Prefix", Encode(ctx, prefix));
  XmlDoc::Add(doc.root(), "KeyMarker", Encode(ctx, key_marker));
  XmlDoc::Add(doc.root(), "VersionIdMarker", version_marker);
  if (l.truncated) {
    XmlDoc::Add(doc.root(), "NextKeyMarker", Encode(ctx, l.next_key));
    if (!l.next_version.empty()) XmlDoc::Add(doc.root(), "NextVersionIdMarker", l.next_version);
  }
  XmlDoc::Add(doc.root(), "MaxKeys", std::to_string(max_keys));
  if (!delimiter.empty()) XmlDoc::Add(doc.root(), "Delimiter", Encode(ctx, delimiter));
  XmlDoc::Add(doc.root(), "IsTruncated", l.truncated ? "true" : "false");
  if (Param(ctx, "encoding-type") == "url") XmlDoc::Add(doc.root(), "EncodingType", "url");
  AddVersions(ctx, doc, l);
  return SendXml(ctx, doc.ToString());
}

uint64_t ListRecordsReadForTesting() { return records_read.load(); }

}  // namespace mosaic::gateway
