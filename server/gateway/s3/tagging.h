#pragma once
// Object tags as S3 takes them: the x-amz-tagging header of PutObject, CopyObject and
// CreateMultipartUpload ("k1=v1&k2=v2", URL query form), and the Tagging XML document of
// PutObjectTagging / GetObjectTagging.
//
// S3's rules, checked by both parsers: at most 10 tags; a key is 1..128 Unicode characters
// of valid UTF-8 and does not start with "aws:" (reserved); a value is 0..256 characters of
// valid UTF-8; no two tags share a key. A broken rule is InvalidTag; a document that is not
// a Tagging document is MalformedXML. Tags keep the order the client gave them.
// All functions are pure and thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/mosaic/v1/meta.pb.h"

namespace mosaic::gateway {

inline constexpr size_t kMaxTags = 10;
inline constexpr size_t kMaxTagKeyChars = 128;
inline constexpr size_t kMaxTagValueChars = 256;

// The tags of an x-amz-tagging header value: '&'-separated "key=value" pairs (a pair
// without '=' has an empty value), percent-decoded with '+' as a space, as URL query
// strings are. An empty header is no tags. InvalidArgument for a bad percent escape,
// InvalidTag for a broken rule.
[[nodiscard]] absl::StatusOr<std::vector<v1::Tag>> TagsFromHeader(std::string_view header);

// The tags of a <Tagging><TagSet><Tag><Key/><Value/></Tag>…</TagSet></Tagging> document.
// MalformedXML when it does not parse, has another root, no TagSet, or a Tag without its
// Key or Value; InvalidTag for a broken rule.
[[nodiscard]] absl::StatusOr<std::vector<v1::Tag>> TagsFromXml(std::string_view body);

// OK, or InvalidTag naming the broken rule.
[[nodiscard]] absl::Status ValidateTags(const std::vector<v1::Tag>& tags);

// The Tagging XML document of `tags`, in their order (GetObjectTagging's answer).
std::string TaggingXml(const google::protobuf::RepeatedPtrField<v1::Tag>& tags);

}  // namespace mosaic::gateway
