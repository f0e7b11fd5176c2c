#pragma once
// Status helpers shared by every folder. Errors are absl::Status values whose codes are
// gRPC's; see ../shared/STYLE.md ("Errors") for what each code means in Mosaic.

#include <cerrno>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define MOSAIC_CONCAT_INNER_(a, b) a##b
#define MOSAIC_CONCAT_(a, b) MOSAIC_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status); returns it from the enclosing function if not OK.
#define RETURN_IF_ERROR(expr)                        \
  do {                                               \
    ::absl::Status mosaic_status_ = (expr);          \
    if (!mosaic_status_.ok()) return mosaic_status_; \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, F())`: evaluates F() (an absl::StatusOr<T>); on error returns
// its status, otherwise moves the value into the declaration on the left.
#define ASSIGN_OR_RETURN(lhs, expr) \
  MOSAIC_ASSIGN_OR_RETURN_IMPL_(MOSAIC_CONCAT_(mosaic_statusor_, __LINE__), lhs, expr)
#define MOSAIC_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return std::move(tmp).status();      \
  lhs = std::move(tmp).value()

namespace mosaic {

// Maps an errno value to a status with `context` (a path, an operation) in the message.
// ENOSPC and EDQUOT map to RESOURCE_EXHAUSTED, ENOENT to NOT_FOUND, EACCES/EPERM to
// PERMISSION_DENIED, EINVAL to INVALID_ARGUMENT, EIO to UNAVAILABLE (the device failed; a
// client may retry on another node). Everything else is INTERNAL.
[[nodiscard]] absl::Status ErrnoToStatus(int err, std::string_view context);

// Returns `status` with `context` prepended to its message ("context: message"); OK stays OK.
[[nodiscard]] absl::Status Annotate(const absl::Status& status, std::string_view context);

}  // namespace mosaic
