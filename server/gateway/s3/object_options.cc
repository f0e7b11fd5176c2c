#include "server/gateway/s3/object_options.h"

#include <string>

#include "common/status.h"
#include "server/gateway/s3/errors.h"

namespace mosaic::gateway {
namespace {

constexpr char kSse[] = "x-amz-server-side-encryption";
constexpr char kAes256[] = "AES256";
constexpr char kStorageClass[] = "x-amz-storage-class";
constexpr char kAcl[] = "x-amz-acl";

// Encryption with a client's key (SSE-C), of the object and of a copy source.
constexpr const char* kCustomerKeyHeaders[] = {
    "x-amz-server-side-encryption-customer-algorithm",
    "x-amz-server-side-encryption-customer-key",
    "x-amz-server-side-encryption-customer-key-md5",
    "x-amz-copy-source-server-side-encryption-customer-algorithm",
    "x-amz-copy-source-server-side-encryption-customer-key",
    "x-amz-copy-source-server-side-encryption-customer-key-md5",
};

// Headers that only mean something with a KMS.
constexpr const char* kKmsHeaders[] = {
    "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-server-side-encryption-context",
};

// The storage classes of S3's API (StorageClass in PutObject).
constexpr const char* kStorageClasses[] = {
    "STANDARD",       "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
    "GLACIER",        "DEEP_ARCHIVE",       "OUTPOSTS",    "GLACIER_IR", "SNOW",
    "EXPRESS_ONEZONE"};

// Canned ACLs that give rights to the bucket's owner only: what S3 accepts on a bucket whose
// ACLs are disabled (Object Ownership "bucket owner enforced", its default since April 2023),
// and all Mosaic has (rights come from access keys' grants).
constexpr const char* kOwnerOnlyAcls[] = {"private", "bucket-owner-full-control",
                                          "bucket-owner-read"};
// Canned ACLs that would give rights to others.
constexpr const char* kSharingAcls[] = {"public-read", "public-read-write", "authenticated-read",
                                        "aws-exec-read", "log-delivery-write"};
constexpr const char* kGrantHeaders[] = {"x-amz-grant-read", "x-amz-grant-write",
                                         "x-amz-grant-read-acp", "x-amz-grant-write-acp",
                                         "x-amz-grant-full-control"};

template <size_t N>
bool OneOf(std::string_view value, const char* const (&names)[N]) {
  for (const char* name : names) {
    if (value == name) return true;
  }
  return false;
}

bool HasCustomerKey(const RequestView& request) {
  for (const char* name : kCustomerKeyHeaders) {
    if (request.HasHeader(name)) return true;
  }
  return false;
}

absl::Status NotImplemented(std::string what) {
  return S3Error(S3Code::kNotImplemented,
                 what +
                     " is not implemented by Mosaic: the gateway encrypts every object "
                     "itself (x-amz-server-side-encryption: AES256)");
}

absl::Status CheckStorageClass(const RequestView& request) {
  if (!request.HasHeader(kStorageClass)) return absl::OkStatus();
  std::string_view value = request.Header(kStorageClass);
  for (const char* known : kStorageClasses) {
    if (value == known) return absl::OkStatus();
  }
  return S3Error(S3Code::kInvalidStorageClass);
}

}  // namespace

absl::Status CheckAcl(const RequestView& request, S3Code refused) {
  for (const char* name : kGrantHeaders) {
    if (request.HasHeader(name)) return S3Error(refused);
  }
  if (!request.HasHeader(kAcl)) return absl::OkStatus();
  std::string_view value = request.Header(kAcl);
  if (OneOf(value, kOwnerOnlyAcls)) return absl::OkStatus();
  if (OneOf(value, kSharingAcls)) return S3Error(refused);
  return S3Error(S3Code::kInvalidArgument,
                 "The canned ACL " + std::string(value) + " is not valid (x-amz-acl)");
}

absl::Status CheckWriteOptions(const RequestView& request) {
  RETURN_IF_ERROR(CheckAcl(request, S3Code::kAccessControlListNotSupported));
  if (HasCustomerKey(request)) {
    return NotImplemented("Server-side encryption with customer-provided keys (SSE-C)");
  }
  std::string_view value = request.Header(kSse);
  if (value == "aws:kms" || value == "aws:kms:dsse") {
    return NotImplemented("Server-side encryption with " + std::string(value));
  }
  for (const char* name : kKmsHeaders) {
    if (request.HasHeader(name)) return NotImplemented(name);
  }
  if (request.HasHeader(kSse) && value != kAes256) {
    return S3Error(S3Code::kInvalidArgument, "The encryption method specified is not supported");
  }
  return CheckStorageClass(request);
}

bool AsksForStorageOptions(const RequestView& request) {
  return request.HasHeader(kSse) || request.HasHeader(kStorageClass);
}

absl::Status CheckReadEncryption(const RequestView& request) {
  if (!HasCustomerKey(request)) return absl::OkStatus();
  return S3Error(S3Code::kInvalidRequest,
                 "The encryption parameters are not applicable to this object.");
}

absl::StatusOr<std::optional<std::string>> VersionParam(
    const std::map<std::string, std::string>& query) {
  auto it = query.find("versionId");
  if (it == query.end()) return std::nullopt;
  if (it->second.empty()) {
    return S3Error(S3Code::kInvalidArgument, "Version id cannot be the empty string");
  }
  return it->second;
}

void EchoEncryption(Exchange& ex) { ex.SetHeader(kSse, kAes256); }

}  // namespace mosaic::gateway
