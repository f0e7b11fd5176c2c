#pragma once
// Parsing of human-written sizes and durations in config files and on the command line.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace mosaic {

// "4096", "64KiB", "8MiB", "1.5GiB", "2TB", "100k" (k/M/G/T are decimal, KiB/MiB/GiB/TiB
// binary; a trailing "B" is optional). INVALID_ARGUMENT on anything else or on overflow.
[[nodiscard]] absl::StatusOr<uint64_t> ParseSize(std::string_view text);

// "250ms", "30s", "10m", "2h", "7d"; a bare number is seconds. INVALID_ARGUMENT otherwise.
[[nodiscard]] absl::StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text);

// "1.5 GiB" style rendering for logs and status output.
std::string FormatSize(uint64_t bytes);

// "2026-11-26 19:04:05 UTC": a wall-clock time in milliseconds since the epoch, for status
// and reports.
std::string FormatUtcMs(int64_t ms);

}  // namespace mosaic
