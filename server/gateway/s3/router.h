#pragma once
// Maps an HTTP request to an S3 operation (by its AWS name), its bucket, key and query.
// Path-style (/bucket/key) and virtual-hosted-style (bucket.<domain>/key) addressing.
// Every operation S3 has that Mosaic does not implement is recognised too, so that it can
// be answered 501 NotImplemented by name.

#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "server/gateway/s3/request.h"

namespace mosaic::gateway {

enum class Operation {
  kListBuckets,
  kCreateBucket,
  kDeleteBucket,
  kHeadBucket,
  kGetBucketLocation,
  kGetBucketVersioning,
  kListObjects,
  kListObjectsV2,
  kPutObject,
  kGetObject,
  kHeadObject,
  kDeleteObject,
  kDeleteObjects,
  kCopyObject,
  kCreateMultipartUpload,
  kUploadPart,
  kUploadPartCopy,
  kCompleteMultipartUpload,
  kAbortMultipartUpload,
  kListParts,
  kListMultipartUploads,
  kGetObjectTagging,
  kPutObjectTagging,
  kDeleteObjectTagging,
  kGetObjectAttributes,
  kPutBucketVersioning,         // versioning.cc
  kListObjectVersions,          // list.cc
  kPutObjectLockConfiguration,  // object_lock.cc
  kGetObjectLockConfiguration,
  kPutObjectRetention,
  kGetObjectRetention,
  kPutObjectLegalHold,
  kGetObjectLegalHold,
  kPutBucketLifecycleConfiguration,  // lifecycle.cc
  kGetBucketLifecycleConfiguration,
  kDeleteBucketLifecycle,
  kGetBucketAcl,  // acl.cc
  kPutBucketAcl,
  kGetObjectAcl,
  kPutObjectAcl,
  // Recognised, not implemented (501):
  kOtherBucketSubresource,  // policy, cors, lifecycle, tagging, … on a bucket
  kOtherObjectSubresource,  // torrent, restore, retention, … on an object
  kUnknown,
};

const char* OperationName(Operation op);
bool IsImplemented(Operation op);

struct S3Request {
  Operation op = Operation::kUnknown;
  std::string bucket;                        // empty for ListBuckets
  std::string key;                           // decoded; empty for bucket operations
  std::map<std::string, std::string> query;  // decoded names and values
  std::string subresource;                   // the unimplemented subresource, for the error message
};

// `domain`: the virtual-host domain ("s3.example.org"), empty to allow path style only.
// INVALID_ARGUMENT (S3 InvalidURI-like) for a target that does not decode.
[[nodiscard]] absl::StatusOr<S3Request> Route(const RequestView& request, std::string_view domain);

// RFC 3986 percent-decoding (sigv4.h's decoder); `plus_is_space` for query strings. An S3
// InvalidArgument error on a bad escape. (Encoding: sigv4.h's UriEncode.)
[[nodiscard]] absl::StatusOr<std::string> PercentDecode(std::string_view s, bool plus_is_space);

}  // namespace mosaic::gateway
