#pragma once
// Logging setup: spdlog to stderr with a level and a uniform pattern. Call once from main
// before starting threads. Never log a secret (tokens, keys); log their purpose instead.

#include <string_view>

#include "absl/status/status.h"

namespace mosaic {

// `level` is one of trace, debug, info, warn, error, off. INVALID_ARGUMENT otherwise.
[[nodiscard]] absl::Status InitLogging(std::string_view level);

}  // namespace mosaic
