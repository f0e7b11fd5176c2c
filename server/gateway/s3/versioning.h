#pragma once
// Versions as the S3 handlers see them (docs/architecture.md, "Versions"): the versionId
// parameter's lookups, the x-amz-version-id and x-amz-delete-marker headers, and the
// metadata store's version errors in S3's terms. Put/GetBucketVersioning are in
// versioning.cc too (handler.h).

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/http/exchange.h"
#include "server/gateway/meta/meta_store.h"
#include "server/gateway/s3/handler.h"

namespace mosaic::gateway {

// A version's id as S3 shows it ("null" for the null version).
std::string ShownId(const v1::ObjectRecord& record);

// Sets x-amz-version-id (when the version has an id of its own, or `always`) and, for a
// delete marker, x-amz-delete-marker: true.
void SetVersionHeaders(Exchange& ex, const v1::ObjectRecord& record, bool always = false);

// Whether a GET/HEAD of `record` (read without a versionId) shows x-amz-version-id: a
// version with an id of its own does; the null version does in a bucket that is or was
// versioned (S3 then answers "null"), not in one never versioned. Reads the bucket only for
// the null version.
[[nodiscard]] absl::StatusOr<bool> ShowsVersionId(Ctx& ctx, const v1::ObjectRecord& record);

// The version `version` of (bucket, key), or with none the current object; nullopt if there
// is none. InvalidArgument ("Invalid version id specified") for a malformed id. `parts`: the
// parts to hydrate (MetaStore::PartRange), all without it.
[[nodiscard]] absl::StatusOr<std::optional<v1::ObjectRecord>> ReadVersion(
    Ctx& ctx, const std::string& bucket, const std::string& key,
    const std::optional<std::string>& version, MetaStore::Hydration hydration,
    const MetaStore::PartRange& parts = nullptr);

// The error for a key or version that is not there: NoSuchBucket, else NoSuchVersion when a
// version was asked for, else NoSuchKey with the headers of a delete marker that is the
// key's newest version.
[[nodiscard]] absl::Status VersionMissing(Ctx& ctx, const std::optional<std::string>& version);

// The object or version a request on one of its subresources names (?tagging, ?attributes,
// ?acl with an optional versionId), its version headers set: VersionMissing's errors when
// there is none, MethodNotAllowed for a delete marker.
[[nodiscard]] absl::StatusOr<v1::ObjectRecord> ReadNamedVersion(Ctx& ctx,
                                                                MetaStore::Hydration hydration);

// A metadata store error of a version operation in S3's terms: PERMISSION_DENIED (Object
// Lock) -> AccessDenied, INVALID_ARGUMENT -> InvalidArgument; others as they are.
[[nodiscard]] absl::Status VersionError(absl::Status status);

}  // namespace mosaic::gateway
