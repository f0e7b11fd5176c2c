#pragma once
// Table of object versions that are not the current object: `v` <bucket> NUL <key> NUL
// <~version_order, 8 bytes big-endian> -> ObjectRecord (pieces by id only, as objects.h).
// A key's rows sort newest first, and keys in S3's byte order (keys never contain NUL), so
// ListObjectVersions reads one range. The current version of a key, when it is an object,
// is the `o` row (objects.h), never here; a delete marker, and every older version, is here.
// Writers of a key's versions hold its `o` row locked (objects::Get with a lock), which
// guards the key's `v` rows too. The null version, when it is a row here (at most one per
// key), is also named by `V` <bucket> NUL <key> -> its order (8 bytes big-endian), kept by
// Put and Delete, so that reading it is two point reads whatever the number of versions.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/meta/entries.h"
#include "server/gateway/meta/row.h"

namespace mosaic::gateway::meta::versions {

// The first byte of every row's key, and the prefix of all rows of `bucket`.
std::string BucketPrefix(const std::string& bucket);
// The key of the row of (bucket, key) with `order`.
std::string RowKey(const std::string& bucket, const std::string& key, uint64_t order);

absl::StatusOr<std::optional<v1::ObjectRecord>> Get(Transaction& t, const std::string& bucket,
                                                    const std::string& key, uint64_t order);
// The key's null version if it is a row of this table (not the `o` row), nullopt if not.
absl::StatusOr<std::optional<v1::ObjectRecord>> GetNull(Transaction& t, const std::string& bucket,
                                                        const std::string& key);
// Stores `record` under its version_order.
absl::Status Put(Transaction& t, const std::string& bucket, const std::string& key,
                 const v1::ObjectRecord& record);
absl::Status Delete(Transaction& t, const std::string& bucket, const std::string& key,
                    uint64_t order);
// Builds the null-version index for rows written before it existed (format 2,
// meta/format_upgrade.h): visits up to `limit` rows of the table from row key `from`
// ("" = the first) and writes the `V` row of each null version whose key has none yet (a
// key's newest null row is visited first). Idempotent. Returns the row key to continue from,
// "" once the table is done.
absl::StatusOr<std::string> IndexNullVersions(Transaction& t, const std::string& from,
                                              size_t limit);
// Up to `limit` versions of `key`, newest first.
absl::StatusOr<std::vector<v1::ObjectRecord>> OfKey(Transaction& t, const std::string& bucket,
                                                    const std::string& key, size_t limit);
// Up to `limit` rows of `bucket` whose key starts with `prefix`, from the row key `from`
// (inclusive; "" = the first), in (key, newest first) order. `latest` is left false.
absl::StatusOr<std::vector<VersionEntry>> List(Transaction& t, const std::string& bucket,
                                               const std::string& prefix, const std::string& from,
                                               size_t limit);

}  // namespace mosaic::gateway::meta::versions
