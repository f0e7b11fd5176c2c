#pragma once
// Pieces of the multipart operations (multipart.cc) shared with other files: the checksum
// hooks that s3/object_checksum fills in, and the pure parts of CompleteMultipartUpload and
// UploadPartCopy (parsing, validation).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/meta/meta_store.h"
#include "server/gateway/s3/checksum.h"
#include "server/gateway/s3/handler.h"
#include "server/gateway/s3/request.h"

namespace mosaic::gateway {

inline constexpr uint32_t kMaxPartNumber = 10000;

// Checksum hooks. AttachPartChecksum is called with a part's record (manifest, number, etag
// set) before it is committed; CompleteChecksum with the object's record (parts, size, etag
// set) and the parts it uses, under the metadata write lock, before it is committed. Their
// errors refuse the part or the completion (the upload stays as it was).
[[nodiscard]] absl::Status AttachPartChecksum(Ctx& ctx, const v1::UploadRecord& upload,
                                              v1::ObjectPart& part);
[[nodiscard]] absl::Status CompleteChecksum(Ctx& ctx, const v1::UploadRecord& upload,
                                            const std::vector<v1::ObjectPart>& used_parts,
                                            v1::ObjectRecord& record);

// A <Part> of a CompleteMultipartUpload request.
struct CompletedPart {
  uint32_t number = 0;
  std::string etag;  // without quotes
  // A ChecksumCRC32/…/ChecksumSHA256 element: its algorithm and base64 value as given.
  std::optional<std::pair<ChecksumAlgorithm, std::string>> checksum;
};

// The parts listed by a CompleteMultipartUpload body, in the order given. MalformedXML for
// XML that does not parse, a root other than CompleteMultipartUpload, a Part without a
// numeric PartNumber or an ETag, or no Part at all; InvalidArgument past kMaxPartNumber parts.
[[nodiscard]] absl::StatusOr<std::vector<CompletedPart>> ParseCompleteRequest(std::string_view xml);

// The object a completion makes of `upload` from the `listed` parts, given every part
// `stored` for it (in number order): listed numbers strictly ascending (InvalidPartOrder),
// each stored with that ETag (InvalidPart) and, when the upload has a checksum algorithm and
// the listed part gives a value, with that value (InvalidPart), every part but the last at least
// `min_part_bytes` (EntityTooSmall). The record carries the listed parts in order, their
// total size, the upload's headers, metadata and tags, the multipart ETag and `now_ms`.
[[nodiscard]] absl::StatusOr<v1::ObjectRecord> BuildCompletedObject(
    const v1::UploadRecord& upload, const std::vector<v1::ObjectPart>& stored,
    const std::vector<CompletedPart>& listed, uint64_t min_part_bytes, int64_t now_ms);

// S3's multipart ETag of `parts`: hex MD5 of their binary MD5s concatenated, "-", count.
// INTERNAL if a part's ETag is not 32 hex digits.
[[nodiscard]] absl::StatusOr<std::string> MultipartEtag(const std::vector<v1::ObjectPart>& parts);

// The object named by x-amz-copy-source: "bucket/key" or "/bucket/key", percent-encoded,
// optionally followed by "?versionId=<id>" (the version to copy). InvalidArgument when
// malformed.
struct CopySource {
  std::string bucket;
  std::string key;
  std::optional<std::string> version;
};
[[nodiscard]] absl::StatusOr<CopySource> ParseCopySource(std::string_view header);

// x-amz-copy-source-range "bytes=first-last" for a source of `size` bytes: InvalidArgument
// when malformed, InvalidRange when it does not lie inside the object.
struct CopyRange {
  uint64_t first = 0;
  uint64_t last = 0;  // inclusive
};
[[nodiscard]] absl::StatusOr<CopyRange> ParseCopySourceRange(std::string_view header,
                                                             uint64_t size);

}  // namespace mosaic::gateway
