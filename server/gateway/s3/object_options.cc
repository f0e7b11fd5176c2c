#include "server/gateway/s3/object_options.h"

#include <string>

#include "server/gateway/s3/errors.h"

namespace mosaic::gateway {
namespace {

constexpr char kSse[] = "x-amz-server-side-encryption";
constexpr char kAes256[] = "AES256";
constexpr char kStorageClass[] = "x-amz-storage-class";

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

absl::Status CheckWriteOptions(const RequestView& request) {
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
