#pragma once
// Lifecycle rules (issue 16): a bucket's PutBucketLifecycleConfiguration document, parsed and
// checked, and written back (s3/lifecycle.cc). What the rules decide is
// jobs/lifecycle_decision.h. Pure functions: no I/O, any thread.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/mosaic/v1/meta.pb.h"

namespace mosaic::gateway {

// The rules of a LifecycleConfiguration document (bounded: kLifecycleXml). MalformedXML for a
// document S3 would refuse (not XML, no rule, a Status that is neither Enabled nor Disabled,
// a filter of two conditions without And, an Expiration of no or of two forms);
// InvalidArgument for a count or number of days that is not a positive integer, a Date not
// at midnight UTC, an ID over 255 characters or one used twice; InvalidRequest for a rule
// without an action, more than 1,000 rules, a tag filter with AbortIncompleteMultipartUpload
// or ExpiredObjectDeleteMarker; NotImplemented for transitions and size filters (Mosaic has
// one storage class).
[[nodiscard]] absl::StatusOr<std::vector<v1::LifecycleRule>> ParseLifecycle(std::string_view xml);
std::string LifecycleXml(const google::protobuf::RepeatedPtrField<v1::LifecycleRule>& rules);

}  // namespace mosaic::gateway
