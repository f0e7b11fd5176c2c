// Lifecycle rules: the XML S3 clients send and what the rules decide (lifecycle_rules.h).

#include "server/gateway/s3/lifecycle_rules.h"

#include <algorithm>
#include <pugixml.hpp>
#include <set>

#include "absl/strings/numbers.h"
#include "common/status.h"
#include "server/gateway/s3/errors.h"
#include "server/gateway/s3/object_lock.h"
#include "server/gateway/s3/utf8.h"
#include "server/gateway/s3/xml.h"

namespace mosaic::gateway {
namespace {

constexpr size_t kMaxRules = 1000;
constexpr int64_t kDayMs = 24 * 3600 * 1000LL;

// A positive whole number of days (or versions) in `node`'s text.
absl::StatusOr<uint32_t> Positive(pugi::xml_node node, const char* what) {
  int n = 0;
  if (!absl::SimpleAtoi(node.text().get(), &n) || n <= 0) {
    return S3Error(S3Code::kInvalidArgument, std::string(what) + " must be a positive integer");
  }
  return static_cast<uint32_t>(n);
}

absl::Status ParseFilter(pugi::xml_node rule, v1::LifecycleRule& r) {
  pugi::xml_node filter = rule.child("Filter");
  if (!filter) {
    r.set_prefix(rule.child("Prefix").text().get());  // the older form
    return absl::OkStatus();
  }
  for (const char* size : {"ObjectSizeGreaterThan", "ObjectSizeLessThan"}) {
    if (filter.child(size) || filter.child("And").child(size)) {
      return S3Error(S3Code::kNotImplemented, "Lifecycle size filters are not implemented");
    }
  }
  if (!filter.child("And")) {
    size_t conditions = 0;
    for (pugi::xml_node child : filter.children()) conditions += child.type() == pugi::node_element;
    if (conditions > 1) return S3Error(S3Code::kMalformedXML);
  }
  pugi::xml_node scope = filter.child("And") ? filter.child("And") : filter;
  r.set_prefix(scope.child("Prefix").text().get());
  for (pugi::xml_node tag : scope.children("Tag")) {
    v1::Tag* t = r.add_tags();
    t->set_key(tag.child("Key").text().get());
    t->set_value(tag.child("Value").text().get());
  }
  return absl::OkStatus();
}

absl::Status ParseExpiration(pugi::xml_node e, v1::LifecycleRule& r) {
  int forms = 0;
  if (pugi::xml_node days = e.child("Days")) {
    ++forms;
    ASSIGN_OR_RETURN(uint32_t n, Positive(days, "Days"));
    r.set_expiration_days(n);
  }
  if (pugi::xml_node date = e.child("Date")) {
    ++forms;
    int64_t ms = ParseIsoDate(date.text().get());
    if (ms <= 0) return S3Error(S3Code::kInvalidArgument, "Invalid Date in Expiration");
    if (ms % kDayMs != 0) {
      return S3Error(S3Code::kInvalidArgument, "'Date' must be at midnight GMT");
    }
    r.set_expiration_date_ms(ms);
  }
  if (pugi::xml_node marker = e.child("ExpiredObjectDeleteMarker")) {
    ++forms;
    r.set_expired_object_delete_marker(std::string_view(marker.text().get()) == "true");
  }
  if (forms != 1) return S3Error(S3Code::kMalformedXML);
  return absl::OkStatus();
}

// IDs, prefixes and tags are written back in GetBucketLifecycleConfiguration's XML: only
// characters XML 1.0 can carry. They are kept in the bucket record's proto3 strings, which
// must be UTF-8: a rule with other bytes (pugixml does not check the encoding) made the
// bucket record unreadable once stored (found by fuzz_lifecycle_xml). A document that is
// not UTF-8 is not well-formed XML.
absl::Status CheckText(const v1::LifecycleRule& r) {
  auto utf8 = [](const std::string& s) { return Utf8Chars(s).has_value(); };
  bool ok = utf8(r.id()) && utf8(r.prefix());
  for (const v1::Tag& t : r.tags()) ok = ok && utf8(t.key()) && utf8(t.value());
  if (!ok) return S3Error(S3Code::kMalformedXML);
  auto fits = [](const std::string& s) { return std::all_of(s.begin(), s.end(), IsXmlChar); };
  ok = fits(r.id()) && fits(r.prefix());
  for (const v1::Tag& t : r.tags()) ok = ok && fits(t.key()) && fits(t.value());
  if (ok) return absl::OkStatus();
  return S3Error(S3Code::kInvalidArgument, "The rule contains a control character");
}

absl::StatusOr<v1::LifecycleRule> ParseRule(pugi::xml_node rule) {
  v1::LifecycleRule r;
  r.set_id(rule.child("ID").text().get());
  if (r.id().size() > 255) {
    return S3Error(S3Code::kInvalidArgument, "ID length should not exceed allowed limit of 255");
  }
  std::string_view status = rule.child("Status").text().get();
  if (status != "Enabled" && status != "Disabled") return S3Error(S3Code::kMalformedXML);
  r.set_enabled(status == "Enabled");
  if (rule.child("Transition") || rule.child("NoncurrentVersionTransition")) {
    return S3Error(S3Code::kNotImplemented,
                   "Lifecycle transitions are not implemented by Mosaic: it has one storage class");
  }
  RETURN_IF_ERROR(ParseFilter(rule, r));
  if (pugi::xml_node e = rule.child("Expiration")) {
    RETURN_IF_ERROR(ParseExpiration(e, r));
  }
  if (pugi::xml_node n = rule.child("NoncurrentVersionExpiration")) {
    ASSIGN_OR_RETURN(uint32_t days, Positive(n.child("NoncurrentDays"), "NoncurrentDays"));
    r.set_noncurrent_days(days);
    if (pugi::xml_node newer = n.child("NewerNoncurrentVersions")) {
      ASSIGN_OR_RETURN(uint32_t count, Positive(newer, "NewerNoncurrentVersions"));
      r.set_newer_noncurrent_versions(count);
    }
  }
  if (pugi::xml_node a = rule.child("AbortIncompleteMultipartUpload")) {
    ASSIGN_OR_RETURN(uint32_t days,
                     Positive(a.child("DaysAfterInitiation"), "DaysAfterInitiation"));
    r.set_abort_incomplete_days(days);
  }
  // An action that does nothing (ExpiredObjectDeleteMarker false) is none.
  bool action = r.expiration_days() > 0 || r.expiration_date_ms() > 0 ||
                r.expired_object_delete_marker() || r.noncurrent_days() > 0 ||
                r.abort_incomplete_days() > 0;
  if (!action) {
    return S3Error(S3Code::kInvalidRequest, "At least one action needs to be specified in a rule");
  }
  RETURN_IF_ERROR(CheckText(r));
  if (r.tags_size() > 0 && r.abort_incomplete_days() > 0) {
    return S3Error(S3Code::kInvalidRequest,
                   "Tag-based filter cannot be used with AbortIncompleteMultipartUpload action");
  }
  if (r.tags_size() > 0 && r.expired_object_delete_marker()) {
    return S3Error(S3Code::kInvalidRequest,
                   "Tag-based filter cannot be used with ExpiredObjectDeleteMarker action");
  }
  return r;
}

}  // namespace

absl::StatusOr<std::vector<v1::LifecycleRule>> ParseLifecycle(std::string_view xml) {
  pugi::xml_document doc;
  RETURN_IF_ERROR(LoadXml(doc, xml, kLifecycleXml));
  pugi::xml_node root = doc.child("LifecycleConfiguration");
  if (!root) return S3Error(S3Code::kMalformedXML);
  std::vector<v1::LifecycleRule> rules;
  std::set<std::string> ids;
  for (pugi::xml_node rule : root.children("Rule")) {
    if (rules.size() == kMaxRules) {
      return S3Error(S3Code::kInvalidRequest, "A lifecycle configuration has at most 1000 rules");
    }
    ASSIGN_OR_RETURN(rules.emplace_back(), ParseRule(rule));
    if (!rules.back().id().empty() && !ids.insert(rules.back().id()).second) {
      return S3Error(S3Code::kInvalidArgument,
                     "Rule ID must be unique. Found same ID for more than one rule");
    }
  }
  if (rules.empty()) return S3Error(S3Code::kMalformedXML);
  return rules;
}

std::string LifecycleXml(const google::protobuf::RepeatedPtrField<v1::LifecycleRule>& rules) {
  XmlDoc doc("LifecycleConfiguration");
  for (const v1::LifecycleRule& r : rules) {
    pugi::xml_node rule = doc.root().append_child("Rule");
    if (!r.id().empty()) XmlDoc::Add(rule, "ID", r.id());
    pugi::xml_node scope = rule.append_child("Filter");
    if (r.tags_size() > 0 && (r.tags_size() > 1 || !r.prefix().empty())) {
      scope = scope.append_child("And");
    }
    if (!r.prefix().empty() || r.tags_size() == 0) XmlDoc::Add(scope, "Prefix", r.prefix());
    for (const v1::Tag& t : r.tags()) {
      pugi::xml_node tag = scope.append_child("Tag");
      XmlDoc::Add(tag, "Key", t.key());
      XmlDoc::Add(tag, "Value", t.value());
    }
    XmlDoc::Add(rule, "Status", r.enabled() ? "Enabled" : "Disabled");
    if (r.expiration_days() > 0 || r.expiration_date_ms() > 0 || r.expired_object_delete_marker()) {
      pugi::xml_node e = rule.append_child("Expiration");
      if (r.expiration_days() > 0) XmlDoc::Add(e, "Days", std::to_string(r.expiration_days()));
      if (r.expiration_date_ms() > 0) XmlDoc::Add(e, "Date", Iso8601(r.expiration_date_ms()));
      if (r.expired_object_delete_marker()) XmlDoc::Add(e, "ExpiredObjectDeleteMarker", "true");
    }
    if (r.noncurrent_days() > 0) {
      pugi::xml_node n = rule.append_child("NoncurrentVersionExpiration");
      XmlDoc::Add(n, "NoncurrentDays", std::to_string(r.noncurrent_days()));
      if (r.newer_noncurrent_versions() > 0) {
        XmlDoc::Add(n, "NewerNoncurrentVersions", std::to_string(r.newer_noncurrent_versions()));
      }
    }
    if (r.abort_incomplete_days() > 0) {
      XmlDoc::Add(rule.append_child("AbortIncompleteMultipartUpload"), "DaysAfterInitiation",
                  std::to_string(r.abort_incomplete_days()));
    }
  }
  return doc.ToString();
}

}  // namespace mosaic::gateway
