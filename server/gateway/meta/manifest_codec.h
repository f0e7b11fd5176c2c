#pragma once
// Conversion between the pipeline's ObjectManifest and its stored form (v1::Manifest).

#include "absl/status/statusor.h"
#include "client/pipeline/pipeline.h"
#include "proto/mosaic/v1/meta.pb.h"

namespace mosaic::gateway {

v1::Manifest ToProto(const client::ObjectManifest& m);
// DATA_LOSS if the stored manifest is inconsistent (bad object id length, k+m out of range,
// a stripe that does not name k+m nodes).
[[nodiscard]] absl::StatusOr<client::ObjectManifest> FromProto(const v1::Manifest& p);

}  // namespace mosaic::gateway
