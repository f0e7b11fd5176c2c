// DeleteObject and DeleteObjects (the batch form, POST ?delete). Each key of a batch is
// deleted on its own (one metadata write each): S3 makes no promise that a batch is atomic,
// and a failure on one key is reported for that key while the others go ahead.

#include "server/gateway/s3/delete.h"

#include <pugixml.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/status.h"
#include "server/gateway/s3/checksum.h"
#include "server/gateway/s3/errors.h"
#include "server/gateway/s3/handler.h"
#include "server/gateway/s3/object_options.h"
#include "server/gateway/s3/request_body.h"
#include "server/gateway/s3/versioning.h"
#include "server/gateway/s3/xml.h"

namespace mosaic::gateway {
namespace {

constexpr size_t kMaxKeys = 1000;
constexpr size_t kMaxKeyBytes = 1024;
// 1,000 keys of 1,024 bytes, with room for markup and character references.
constexpr size_t kMaxDeleteBodyBytes = 2 << 20;

// S3 refuses a DeleteObjects request that carries no integrity check of its body:
// Content-MD5, an x-amz-checksum-* header, or an x-amz-checksum-* trailer.
bool HasIntegrityCheck(const RequestView& request) {
  if (request.HasHeader("content-md5")) return true;
  for (const auto& [name, value] : request.headers) {
    if (AlgorithmFromHeaderName(name)) return true;
    if (name == "x-amz-trailer" &&
        absl::AsciiStrToLower(ToAbsl(value)).find("x-amz-checksum-") != std::string::npos) {
      return true;
    }
  }
  return false;
}

}  // namespace

absl::StatusOr<DeleteRequest> ParseDelete(std::string_view body) {
  pugi::xml_document doc;
  // A key made only of spaces is a key like any other.
  RETURN_IF_ERROR(
      LoadXml(doc, body, kDeleteObjectsXml, pugi::parse_default | pugi::parse_ws_pcdata_single));
  pugi::xml_node root = doc.child("Delete");
  if (!root) return S3Error(S3Code::kMalformedXML);
  DeleteRequest out;
  if (pugi::xml_node quiet = root.child("Quiet")) {
    std::string q = absl::AsciiStrToLower(absl::StripAsciiWhitespace(quiet.text().get()));
    if (q != "true" && q != "false") return S3Error(S3Code::kMalformedXML);
    out.quiet = q == "true";
  }
  for (pugi::xml_node object : root.children("Object")) {
    if (out.entries.size() == kMaxKeys) {
      return S3Error(S3Code::kMalformedXML, "A Delete request may name at most 1000 objects");
    }
    pugi::xml_node key = object.child("Key");
    if (!key) return S3Error(S3Code::kMalformedXML, "An Object needs a Key");
    DeleteEntry& e = out.entries.emplace_back();
    e.key = key.text().get();
    if (pugi::xml_node version = object.child("VersionId")) {
      e.has_version_id = true;
      e.version_id = version.text().get();
    }
  }
  if (out.entries.empty()) return S3Error(S3Code::kMalformedXML);
  return out;
}

namespace {

// x-amz-bypass-governance-retention: true, from a key allowed to bypass (OWNER on the
// bucket); a key without that right gets AccessDenied for asking.
absl::StatusOr<bool> BypassGovernance(Ctx& ctx) {
  std::string_view value = ctx.ex.request().Header("x-amz-bypass-governance-retention");
  if (!absl::EqualsIgnoreCase(ToAbsl(value), "true")) return false;
  if (!ctx.who.Allows(ctx.req.bucket, v1::Grant::OWNER)) return S3Error(S3Code::kAccessDenied);
  return true;
}

// Deletes one key or version; a key or version that does not exist is deleted already (S3
// answers the same). Without a version id, a versioned bucket gets a delete marker.
absl::StatusOr<DeletedVersion> DeleteOne(Ctx& ctx, const std::string& key,
                                         const std::optional<std::string>& version, bool bypass) {
  if (key.empty()) return S3Error(S3Code::kInvalidArgument, "The key must not be empty");
  if (key.size() > kMaxKeyBytes) return S3Error(S3Code::kKeyTooLongError);
  if (version && version->empty()) {
    return S3Error(S3Code::kInvalidArgument, "Version id cannot be the empty string");
  }
  auto deleted = ctx.svc.meta.DeleteVersion(ctx.req.bucket, key, version, bypass, NowMs());
  if (!deleted.ok()) return VersionError(deleted.status());
  return deleted;
}

}  // namespace

absl::Status DeleteObject(Ctx& ctx) {
  RETURN_IF_ERROR(Require(ctx, v1::Grant::WRITE));
  RETURN_IF_ERROR(RequireBucket(ctx).status());
  ASSIGN_OR_RETURN(std::optional<std::string> version, VersionParam(ctx.req.query));
  ASSIGN_OR_RETURN(bool bypass, BypassGovernance(ctx));
  ASSIGN_OR_RETURN(DeletedVersion deleted, DeleteOne(ctx, ctx.req.key, version, bypass));
  if (deleted.delete_marker) ctx.ex.SetHeader("x-amz-delete-marker", "true");
  if (!deleted.version_id.empty()) ctx.ex.SetHeader("x-amz-version-id", deleted.version_id);
  return ctx.ex.Send(204, "");
}

absl::Status DeleteObjects(Ctx& ctx) {
  RETURN_IF_ERROR(Require(ctx, v1::Grant::WRITE));
  RETURN_IF_ERROR(RequireBucket(ctx).status());
  if (!HasIntegrityCheck(ctx.ex.request())) {
    return S3Error(S3Code::kInvalidRequest,
                   "Missing required header for this request: Content-MD5");
  }
  ASSIGN_OR_RETURN(std::string body, ReadWholeBody(ctx, kMaxDeleteBodyBytes));
  ASSIGN_OR_RETURN(DeleteRequest request, ParseDelete(body));
  ASSIGN_OR_RETURN(bool bypass, BypassGovernance(ctx));
  XmlDoc doc("DeleteResult");
  for (const DeleteEntry& e : request.entries) {
    std::optional<std::string> version;
    if (e.has_version_id) version = e.version_id;
    absl::StatusOr<DeletedVersion> deleted = DeleteOne(ctx, e.key, version, bypass);
    absl::Status s = deleted.status();
    if (s.ok() && request.quiet) continue;
    pugi::xml_node entry = doc.root().append_child(s.ok() ? "Deleted" : "Error");
    XmlDoc::Add(entry, "Key", e.key);
    if (e.has_version_id) XmlDoc::Add(entry, "VersionId", e.version_id);
    if (s.ok() && deleted->delete_marker) {
      XmlDoc::Add(entry, "DeleteMarker", "true");
      if (!e.has_version_id) XmlDoc::Add(entry, "DeleteMarkerVersionId", deleted->version_id);
    }
    if (!s.ok()) {
      const S3ErrorInfo& info = InfoOf(CodeOf(s));
      XmlDoc::Add(entry, "Code", info.code);
      // An S3 error's own message; for anything else the table's (no internals leak out).
      XmlDoc::Add(entry, "Message",
                  IsS3Error(s) && !s.message().empty() ? FromAbsl(s.message())
                                                       : std::string_view(info.message));
    }
  }
  return SendXml(ctx, doc.ToString());
}

}  // namespace mosaic::gateway
