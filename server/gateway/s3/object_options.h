#pragma once
// Request headers and parameters that choose how an object is stored or which version is
// meant, checked the way S3 checks them: server-side encryption, storage class, versionId.
//
// Server-side encryption. Mosaic encrypts every object with its own data key before any
// byte leaves the gateway (docs/architecture.md, "Encryption"): what S3 calls SSE-S3 and
// applies to every new object by default. So "AES256" is accepted wherever S3 accepts it,
// and every object answers `x-amz-server-side-encryption: AES256` (PUT, copy, multipart,
// GET, HEAD), as S3 does for SSE-S3 objects. Keys held by a KMS (aws:kms, aws:kms:dsse) or
// by the client (SSE-C) are not implemented: 501 NotImplemented.
//
// Storage class. Mosaic has one (erasure-coded across providers), listed as STANDARD; the
// names S3 knows are accepted (and stored as STANDARD), any other is InvalidStorageClass.

#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/gateway/http/exchange.h"
#include "server/gateway/s3/errors.h"
#include "server/gateway/s3/request.h"

namespace mosaic::gateway {

// ACLs. Mosaic has none (an access key's grants say what it may do), like an S3 bucket whose
// ACLs are disabled (Object Ownership "bucket owner enforced", S3's default since April 2023):
// a write may name a canned ACL that gives rights to the bucket's owner only (private,
// bucket-owner-full-control, bucket-owner-read); one that would share the object or bucket
// (public-read, …, or an x-amz-grant-* header) is refused with `refused`
// (AccessControlListNotSupported for objects, InvalidBucketAclWithObjectOwnership for
// CreateBucket), an unknown canned ACL with InvalidArgument.
[[nodiscard]] absl::Status CheckAcl(const RequestView& request, S3Code refused);

// Checks what a write asks for (PutObject, CopyObject, CreateMultipartUpload): its ACL
// (CheckAcl); OK for no encryption or AES256; NotImplemented for aws:kms, aws:kms:dsse, a KMS key
// id or context, and SSE-C headers (also a copy source's); InvalidArgument for another encryption
// value; InvalidStorageClass for an x-amz-storage-class S3 does not know.
[[nodiscard]] absl::Status CheckWriteOptions(const RequestView& request);

// Whether the request asks for the object's encryption or storage class explicitly (a
// CopyObject onto itself that does is a change of attributes, not an illegal copy).
bool AsksForStorageOptions(const RequestView& request);

// Checks a read (GetObject, HeadObject): SSE-C headers are for objects encrypted with a
// client's key, which no Mosaic object is: InvalidRequest, as S3 answers for such an object.
[[nodiscard]] absl::Status CheckReadEncryption(const RequestView& request);

// The versionId parameter (a version id, "null" for the null version), nullopt when there is
// none; InvalidArgument for an empty one, as S3.
[[nodiscard]] absl::StatusOr<std::optional<std::string>> VersionParam(
    const std::map<std::string, std::string>& query);

// Adds x-amz-server-side-encryption: AES256 to the response.
void EchoEncryption(Exchange& ex);

}  // namespace mosaic::gateway
