#pragma once
// The x-amz-checksum-* values S3 keeps with an object: how a part's value is taken from its
// request, how a multipart object's value is made from its parts' (COMPOSITE: the algorithm
// over the concatenated part digests, shown "base64-N"; FULL_OBJECT: the part CRCs combined
// into the CRC of the whole), how they are shown in headers and XML, and which bytes a
// GET ?partNumber=N names. Pure functions over the metadata records; thread-safe.
//
// The multipart hooks (AttachPartChecksum, CompleteChecksum, declared in multipart.h) are
// defined in object_checksum.cc on top of these.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/s3/checksum.h"
#include "server/gateway/s3/request.h"

namespace mosaic::gateway {

// A verified checksum of a request body: algorithm and raw digest (BodyReader::checksum()).
using BodyChecksum = std::optional<std::pair<ChecksumAlgorithm, std::string>>;

// The algorithm of a stored name ("CRC32", …); nullopt for "" (none) or a name we do not know.
std::optional<ChecksumAlgorithm> StoredAlgorithm(const std::string& name);

// The raw digest to store with a part of `upload` whose request carried `sent`:
//   the upload has no algorithm                -> "" (S3 keeps nothing)
//   it has one and the part carried none       -> InvalidRequest
//   the part carried another algorithm's value -> InvalidRequest
//   else the part's digest.
[[nodiscard]] absl::StatusOr<std::string> PartDigestFor(const v1::UploadRecord& upload,
                                                        const BodyChecksum& sent);

// The checksum of the object completed from `parts` (in order; their manifests give the sizes)
// of `upload`: unset (empty algorithm) when the upload has none. InvalidPart when a part has
// no digest of the upload's algorithm; INTERNAL for a stored algorithm we do not know or a
// FULL_OBJECT upload of an algorithm that is not a CRC.
[[nodiscard]] absl::StatusOr<v1::Checksum> CompletedChecksum(
    const v1::UploadRecord& upload, const std::vector<v1::ObjectPart>& parts);

// Checks the x-amz-checksum-<alg> header a CompleteMultipartUpload may carry against the
// object's `checksum` (of `parts_count` parts): OK when absent; a header of another algorithm
// -> InvalidRequest; a malformed value -> InvalidRequest; another value -> BadDigest. For a
// COMPOSITE checksum the value may carry the "-N" suffix.
[[nodiscard]] absl::Status VerifyCompleteHeader(const RequestView& request,
                                                const v1::Checksum& checksum, int parts_count);

// The value S3 shows for a stored checksum: base64 of the digest, with "-N" (N =
// `parts_count`) for a COMPOSITE one when `with_count`.
std::string ShownValue(const v1::Checksum& checksum, int parts_count, bool with_count = true);

// "COMPOSITE" or "FULL_OBJECT".
std::string_view ChecksumTypeName(const v1::Checksum& checksum);

// The XML element of a value of `alg`: "ChecksumCRC32", "ChecksumCRC32C", "ChecksumCRC64NVME",
// "ChecksumSHA1", "ChecksumSHA256".
std::string XmlElementOf(ChecksumAlgorithm alg);

// Whether the object was made by CompleteMultipartUpload (its pieces carry part numbers).
bool IsMultipartObject(const v1::ObjectRecord& record);

// The bytes GET/HEAD ?partNumber=`number` return. For a multipart object: the part with that
// number (`part` its index in record.parts()); for any other object, part 1 is the whole.
// A part that does not exist -> InvalidPartNumber (416, as AWS documents it).
struct PartSlice {
  uint64_t offset = 0;
  uint64_t length = 0;
  int part = -1;        // index into record.parts(); -1 for the whole of a plain object
  int parts_count = 0;  // x-amz-mp-parts-count; 0 for a plain object (no header)
};
[[nodiscard]] absl::StatusOr<PartSlice> SliceOfPart(const v1::ObjectRecord& record,
                                                    uint32_t number);

// The partNumber query value: an integer 1..10000, else InvalidArgument.
[[nodiscard]] absl::StatusOr<uint32_t> ParsePartNumber(std::string_view text);

// The checksum headers of a GET/HEAD with x-amz-checksum-mode: ENABLED: the whole object's
// (`slice` nullptr), or a part's (the part's own digest, no type). Empty when nothing is stored.
std::vector<std::pair<std::string, std::string>> ChecksumHeaders(const v1::ObjectRecord& record,
                                                                 const PartSlice* slice);

}  // namespace mosaic::gateway
