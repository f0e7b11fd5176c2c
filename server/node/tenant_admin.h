#pragma once
// A provider's tenant tools (`mosaic node tenant list|set-quota|remove`): edits of the
// [[tenant]] tables of node.toml that keep the rest of the file (comments included) as it
// is, the usage a node's index records per tenant, and the warning for quotas that promise
// more than the disk holds. Thread-safe (no state); the functions that read files block.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/node/config.h"
#include "server/node/index/chunk_index.h"

namespace mosaic::node {

// `toml_text` with tenant `name`'s quota set to `quota` (a size as the config takes it:
// "500GiB"). NOT_FOUND if no [[tenant]] is named so; INVALID_ARGUMENT if the result would
// not be a valid node config (a bad size, a file the function cannot edit line by line).
[[nodiscard]] absl::StatusOr<std::string> SetTenantQuotaInToml(const std::string& toml_text,
                                                               const std::string& name,
                                                               const std::string& quota);

// `toml_text` without tenant `name`'s [[tenant]] table. NOT_FOUND if there is none;
// INVALID_ARGUMENT if the result would not be a valid node config.
[[nodiscard]] absl::StatusOr<std::string> RemoveTenantFromToml(const std::string& toml_text,
                                                               const std::string& name);

// Usage per tenant as the index in `data_dir`/index records it, read while the node runs
// (the index is opened read-only) or not. Tenants that never stored anything are absent.
// UNAVAILABLE/INTERNAL from RocksDB (NOT_FOUND-like when the node never started: no index).
[[nodiscard]] absl::StatusOr<std::map<std::string, TenantUsage>> ReadTenantUsage(
    const std::string& data_dir);

// Size of the file system holding `dir`; errno statuses naming it.
[[nodiscard]] absl::StatusOr<uint64_t> DiskCapacityBytes(const std::string& dir);

// A warning when the tenants' quotas add up to more than `disk_bytes`: one sentence naming
// both sizes; nullopt when they fit. Tenants without a quota (0, unlimited) are not counted.
std::optional<std::string> QuotasOverDisk(const std::vector<TenantConfig>& tenants,
                                          uint64_t disk_bytes);

// Asks the node running from `data_dir` (per its node.pid) to reload its tenants (SIGHUP).
// Returns whether one was signalled.
bool SignalRunningNode(const std::string& data_dir);

}  // namespace mosaic::node
