#pragma once
// GetObjectAttributes (GET /bucket/key?attributes): the request headers it reads and the
// GetObjectAttributesResponse document, as pure functions for unit tests.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/s3/request.h"

namespace mosaic::gateway {

struct AttributesRequest {
  bool etag = false;
  bool checksum = false;
  bool object_parts = false;
  bool storage_class = false;
  bool object_size = false;
  uint32_t max_parts = 1000;        // x-amz-max-parts (at most 1000)
  uint32_t part_number_marker = 0;  // x-amz-part-number-marker: list parts after this one
};

// x-amz-object-attributes (a comma list of ETag, Checksum, ObjectParts, StorageClass,
// ObjectSize; every instance of the header counts), x-amz-max-parts and
// x-amz-part-number-marker. InvalidArgument for no attribute, an unknown one, or a
// malformed number.
[[nodiscard]] absl::StatusOr<AttributesRequest> ParseAttributesRequest(const RequestView& request);

// The GetObjectAttributesResponse of `record` for `req`. The ETag is unquoted; a checksum is
// shown without the "-N" of a COMPOSITE one (ChecksumType says which); ObjectParts only for a
// multipart object (its PartsCount always, its Part elements only when it has a checksum, as
// S3 does).
std::string AttributesXml(const v1::ObjectRecord& record, const AttributesRequest& req);

}  // namespace mosaic::gateway
