// Object tagging: the tag parsers and rules of tagging.h, and GetObjectTagging,
// PutObjectTagging, DeleteObjectTagging. Tags live in the object's record; replacing them
// rewrites the record only (MetaStore::SetTags), never the data.

#include "server/gateway/s3/tagging.h"

#include <pugixml.hpp>
#include <set>

#include "common/status.h"
#include "server/gateway/s3/errors.h"
#include "server/gateway/s3/handler.h"
#include "server/gateway/s3/object_options.h"
#include "server/gateway/s3/request_body.h"
#include "server/gateway/s3/router.h"
#include "server/gateway/s3/utf8.h"
#include "server/gateway/s3/versioning.h"
#include "server/gateway/s3/xml.h"

namespace mosaic::gateway {
namespace {

// A valid Tagging document holds at most 10 tags of 384 characters, each at most a
// 10-byte character reference (&#x10FFFF;), plus the markup: 64 KiB is ample.
constexpr size_t kMaxTaggingBodyBytes = 64 * 1024;

v1::Tag MakeTag(std::string key, std::string value) {
  v1::Tag tag;
  tag.set_key(std::move(key));
  tag.set_value(std::move(value));
  return tag;
}

// Sets the tags of the object or of the version asked for (a delete marker has none:
// MethodNotAllowed), and answers with `status`.
absl::Status SetTags(Ctx& ctx, const std::vector<v1::Tag>& tags, int status) {
  ASSIGN_OR_RETURN(std::optional<std::string> version, VersionParam(ctx.req.query));
  v1::ObjectRecord changed;
  auto found = ctx.svc.meta.UpdateVersion(ctx.req.bucket, ctx.req.key, version,
                                          [&](v1::ObjectRecord& record) -> absl::Status {
                                            if (record.delete_marker()) {
                                              return S3Error(S3Code::kMethodNotAllowed);
                                            }
                                            record.clear_tags();
                                            for (const auto& tag : tags) *record.add_tags() = tag;
                                            changed = record;
                                            return absl::OkStatus();
                                          });
  if (!found.ok()) return VersionError(found.status());
  if (!*found) return VersionMissing(ctx, version);
  SetVersionHeaders(ctx.ex, changed, version.has_value());
  return ctx.ex.Send(status, "");
}

}  // namespace

absl::Status ValidateTags(const std::vector<v1::Tag>& tags) {
  if (tags.size() > kMaxTags) {
    return S3Error(S3Code::kInvalidTag, "Object tags cannot be greater than 10");
  }
  std::set<std::string_view> keys;
  for (const v1::Tag& tag : tags) {
    std::optional<size_t> key_chars = Utf8Chars(tag.key());
    std::optional<size_t> value_chars = Utf8Chars(tag.value());
    if (!key_chars || !value_chars) {
      return S3Error(S3Code::kInvalidTag, "A tag key or value is not valid UTF-8");
    }
    if (*key_chars == 0 || *key_chars > kMaxTagKeyChars) {
      return S3Error(S3Code::kInvalidTag, "The TagKey you have provided is invalid");
    }
    if (*value_chars > kMaxTagValueChars) {
      return S3Error(S3Code::kInvalidTag, "The TagValue you have provided is invalid");
    }
    if (tag.key().starts_with("aws:")) {
      return S3Error(S3Code::kInvalidTag, "Your TagKey cannot be prefixed with aws:");
    }
    if (!keys.insert(tag.key()).second) {
      return S3Error(S3Code::kInvalidTag, "Cannot provide multiple Tags with the same key");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::Tag>> TagsFromHeader(std::string_view header) {
  std::vector<v1::Tag> tags;
  while (!header.empty()) {
    size_t amp = header.find('&');
    std::string_view pair = header.substr(0, amp);
    header = amp == std::string_view::npos ? std::string_view() : header.substr(amp + 1);
    if (pair.empty()) continue;  // "a=1&&b=2", a trailing '&'
    size_t eq = pair.find('=');
    ASSIGN_OR_RETURN(std::string key, PercentDecode(pair.substr(0, eq), true));
    std::string value;
    if (eq != std::string_view::npos) {
      ASSIGN_OR_RETURN(value, PercentDecode(pair.substr(eq + 1), true));
    }
    tags.push_back(MakeTag(std::move(key), std::move(value)));
    // Stop early on a hostile header: the count rule fails whatever follows.
    if (tags.size() > kMaxTags) break;
  }
  RETURN_IF_ERROR(ValidateTags(tags));
  return tags;
}

absl::StatusOr<std::vector<v1::Tag>> TagsFromXml(std::string_view body) {
  pugi::xml_document doc;
  // Keep a value made only of spaces: it is a value like any other.
  RETURN_IF_ERROR(
      LoadXml(doc, body, kTaggingXml, pugi::parse_default | pugi::parse_ws_pcdata_single));
  pugi::xml_node tag_set = doc.child("Tagging").child("TagSet");
  if (!tag_set) return S3Error(S3Code::kMalformedXML);
  std::vector<v1::Tag> tags;
  for (pugi::xml_node tag : tag_set.children("Tag")) {
    pugi::xml_node key = tag.child("Key"), value = tag.child("Value");
    if (!key || !value) return S3Error(S3Code::kMalformedXML, "A Tag needs a Key and a Value");
    tags.push_back(MakeTag(key.text().get(), value.text().get()));
    if (tags.size() > kMaxTags) break;
  }
  RETURN_IF_ERROR(ValidateTags(tags));
  return tags;
}

std::string TaggingXml(const google::protobuf::RepeatedPtrField<v1::Tag>& tags) {
  XmlDoc doc("Tagging");
  pugi::xml_node set = doc.root().append_child("TagSet");
  for (const v1::Tag& t : tags) {
    pugi::xml_node tag = set.append_child("Tag");
    XmlDoc::Add(tag, "Key", t.key());
    XmlDoc::Add(tag, "Value", t.value());
  }
  return doc.ToString();
}

absl::Status GetObjectTagging(Ctx& ctx) {
  RETURN_IF_ERROR(Require(ctx, v1::Grant::READ));
  ASSIGN_OR_RETURN(v1::ObjectRecord record, ReadNamedVersion(ctx, MetaStore::Hydration::kNone));
  return SendXml(ctx, TaggingXml(record.tags()));
}

absl::Status PutObjectTagging(Ctx& ctx) {
  RETURN_IF_ERROR(Require(ctx, v1::Grant::WRITE));
  ASSIGN_OR_RETURN(std::string body, ReadWholeBody(ctx, kMaxTaggingBodyBytes));
  ASSIGN_OR_RETURN(std::vector<v1::Tag> tags, TagsFromXml(body));
  return SetTags(ctx, tags, 200);
}

absl::Status DeleteObjectTagging(Ctx& ctx) {
  RETURN_IF_ERROR(Require(ctx, v1::Grant::WRITE));
  return SetTags(ctx, {}, 204);
}

}  // namespace mosaic::gateway
