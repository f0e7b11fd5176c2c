// GetObjectAttributes: what HeadObject and ListParts would say about an object, in one XML
// document: ETag, checksum, parts (paged), storage class and size.

#include "server/gateway/s3/attributes.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/bytes.h"
#include "common/status.h"
#include "server/gateway/s3/errors.h"
#include "server/gateway/s3/handler.h"
#include "server/gateway/s3/object_checksum.h"
#include "server/gateway/s3/object_get.h"
#include "server/gateway/s3/object_options.h"
#include "server/gateway/s3/versioning.h"
#include "server/gateway/s3/xml.h"

namespace mosaic::gateway {
namespace {

constexpr uint32_t kMaxPartsListed = 1000;

absl::StatusOr<uint32_t> NumberHeader(const RequestView& request, std::string_view name,
                                      uint32_t absent) {
  std::string_view text = request.Header(name);
  if (text.empty()) return absent;
  uint32_t value = 0;
  if (!absl::SimpleAtoi(ToAbsl(text), &value)) {
    return S3Error(S3Code::kInvalidArgument, "Invalid value for " + std::string(name) + ".");
  }
  return value;
}

absl::Status AddAttribute(AttributesRequest& req, std::string_view name) {
  if (name == "ETag") {
    req.etag = true;
  } else if (name == "Checksum") {
    req.checksum = true;
  } else if (name == "ObjectParts") {
    req.object_parts = true;
  } else if (name == "StorageClass") {
    req.storage_class = true;
  } else if (name == "ObjectSize") {
    req.object_size = true;
  } else {
    return S3Error(S3Code::kInvalidArgument, "Invalid attribute name specified.");
  }
  return absl::OkStatus();
}

void AddParts(pugi::xml_node root, const v1::ObjectRecord& record, const AttributesRequest& req) {
  pugi::xml_node parts = root.append_child("ObjectParts");
  std::optional<ChecksumAlgorithm> alg = StoredAlgorithm(record.checksum().algorithm());
  uint32_t listed = 0, last = req.part_number_marker;
  bool truncated = false;
  std::vector<const v1::ObjectPart*> shown;
  for (const v1::ObjectPart& part : record.parts()) {
    if (part.number() <= req.part_number_marker) continue;
    if (listed == req.max_parts) {
      truncated = true;
      break;
    }
    ++listed;
    last = part.number();
    shown.push_back(&part);
  }
  XmlDoc::Add(parts, "PartsCount", std::to_string(record.parts_size()));
  XmlDoc::Add(parts, "PartNumberMarker", std::to_string(req.part_number_marker));
  XmlDoc::Add(parts, "NextPartNumberMarker", std::to_string(last));
  XmlDoc::Add(parts, "MaxParts", std::to_string(req.max_parts));
  XmlDoc::Add(parts, "IsTruncated", truncated ? "true" : "false");
  if (!alg) return;  // S3 lists parts only of objects with a checksum
  for (const v1::ObjectPart* part : shown) {
    pugi::xml_node p = parts.append_child("Part");
    XmlDoc::Add(p, "PartNumber", std::to_string(part->number()));
    XmlDoc::Add(p, "Size", std::to_string(part->manifest().size()));
    if (part->checksum().size() == DigestSizeOf(*alg)) {
      XmlDoc::Add(p, XmlElementOf(*alg).c_str(), Base64Encode(part->checksum()));
    }
  }
}

}  // namespace

absl::StatusOr<AttributesRequest> ParseAttributesRequest(const RequestView& request) {
  AttributesRequest req;
  bool any = false;
  for (const auto& [name, value] : request.headers) {
    if (name != "x-amz-object-attributes") continue;
    for (absl::string_view item : absl::StrSplit(ToAbsl(value), ',')) {
      absl::string_view trimmed = absl::StripAsciiWhitespace(item);
      if (trimmed.empty()) continue;
      RETURN_IF_ERROR(AddAttribute(req, FromAbsl(trimmed)));
      any = true;
    }
  }
  if (!any) {
    return S3Error(S3Code::kInvalidArgument, "Minimum of one attribute must be specified.");
  }
  ASSIGN_OR_RETURN(req.max_parts, NumberHeader(request, "x-amz-max-parts", kMaxPartsListed));
  req.max_parts = std::min(req.max_parts, kMaxPartsListed);
  ASSIGN_OR_RETURN(req.part_number_marker, NumberHeader(request, "x-amz-part-number-marker", 0));
  return req;
}

std::string AttributesXml(const v1::ObjectRecord& record, const AttributesRequest& req) {
  XmlDoc doc("GetObjectAttributesResponse");
  pugi::xml_node root = doc.root();
  if (req.etag) XmlDoc::Add(root, "ETag", record.etag());
  std::optional<ChecksumAlgorithm> alg = StoredAlgorithm(record.checksum().algorithm());
  if (req.checksum && alg) {
    pugi::xml_node c = root.append_child("Checksum");
    XmlDoc::Add(c, XmlElementOf(*alg).c_str(),
                ShownValue(record.checksum(), record.parts_size(), /*with_count=*/false));
    XmlDoc::Add(c, "ChecksumType", ChecksumTypeName(record.checksum()));
  }
  if (req.object_parts && IsMultipartObject(record)) AddParts(root, record, req);
  if (req.storage_class) XmlDoc::Add(root, "StorageClass", "STANDARD");
  if (req.object_size) XmlDoc::Add(root, "ObjectSize", std::to_string(record.size()));
  return doc.ToString();
}

absl::Status GetObjectAttributes(Ctx& ctx) {
  RETURN_IF_ERROR(Require(ctx, v1::Grant::READ));
  ASSIGN_OR_RETURN(AttributesRequest req, ParseAttributesRequest(ctx.ex.request()));
  ASSIGN_OR_RETURN(v1::ObjectRecord record,
                   ReadNamedVersion(ctx, MetaStore::Hydration::kManifests));
  RETURN_IF_ERROR(CheckConditions(ctx.ex.request(), record.etag(), record.last_modified_ms()));
  ctx.ex.SetHeader("Last-Modified", HttpDate(record.last_modified_ms()));
  return SendXml(ctx, AttributesXml(record, req));
}

}  // namespace mosaic::gateway
