#pragma once
// Fencing of old gateways (issue 20; docs/architecture.md, "Fencing"). A group's gateway
// carries a generation: a restored gateway takes one above every generation before it. The
// node keeps, per tenant, the highest generation it has seen, durably, and refuses writes
// and deletes of that tenant from an older generation, so that an old gateway that comes back
// cannot damage what the new one wrote. Reads stay allowed.
//
// Stored in `data_dir`/fences, one line "generation tenant" per tenant, replaced whole
// (temporary file, fsync, rename, fsync of the folder) on every raise: raises are rare (once
// per generation and tenant), checks are in memory. Thread-safe.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"

namespace mosaic::node {

class FenceStore {
 public:
  // Loads `data_dir`/fences (none yet: every tenant at 0). DATA_LOSS if it does not parse;
  // errno statuses naming the file otherwise.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<FenceStore>> Open(
      const std::string& data_dir);

  // The highest generation recorded for `tenant` (0 if none).
  uint64_t Highest(const std::string& tenant) const;

  // Admits a write or delete of `tenant` from a gateway of `generation`: OK if it is the
  // highest (a higher one is recorded durably first, blocking for the fsync);
  // FAILED_PRECONDITION "... generation G is fenced off: generation H has taken over ..." if
  // it is older; UNAVAILABLE if a new highest cannot be stored.
  [[nodiscard]] absl::Status Admit(const std::string& tenant, uint64_t generation);

  // Raises `tenant` to `generation` (never lowers it) and returns the highest now recorded.
  // UNAVAILABLE if it cannot be stored.
  [[nodiscard]] absl::StatusOr<uint64_t> Raise(const std::string& tenant, uint64_t generation);

 private:
  explicit FenceStore(std::string path) : path_(std::move(path)) {}
  absl::Status Save(const std::map<std::string, uint64_t>& highest) const;

  std::string path_;
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> highest_;
};

}  // namespace mosaic::node
