#include "common/units.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/bytes.h"

namespace mosaic {
namespace {

// Splits "12.5MiB" into the number and the unit; false if there is no leading number.
bool SplitNumber(std::string_view text, double& number, std::string& unit) {
  text = FromAbsl(absl::StripAsciiWhitespace(ToAbsl(text)));
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    ++i;
  }
  if (i == 0 || !absl::SimpleAtod(ToAbsl(text.substr(0, i)), &number)) return false;
  unit = std::string(absl::StripAsciiWhitespace(ToAbsl(text.substr(i))));
  return number >= 0 && std::isfinite(number);
}

}  // namespace

absl::StatusOr<uint64_t> ParseSize(std::string_view text) {
  double number = 0;
  std::string unit;
  if (!SplitNumber(text, number, unit)) {
    return absl::InvalidArgumentError("not a size: \"" + std::string(text) + "\"");
  }
  if (!unit.empty() && (unit.back() == 'B' || unit.back() == 'b') && unit != "b") unit.pop_back();
  double scale = 0;
  if (unit.empty())
    scale = 1;
  else if (unit == "k" || unit == "K")
    scale = 1e3;
  else if (unit == "M")
    scale = 1e6;
  else if (unit == "G")
    scale = 1e9;
  else if (unit == "T")
    scale = 1e12;
  else if (unit == "Ki")
    scale = 1024.0;
  else if (unit == "Mi")
    scale = 1024.0 * 1024;
  else if (unit == "Gi")
    scale = 1024.0 * 1024 * 1024;
  else if (unit == "Ti")
    scale = 1024.0 * 1024 * 1024 * 1024;
  if (scale == 0) {
    return absl::InvalidArgumentError("unknown size unit in \"" + std::string(text) + "\"");
  }
  double bytes = number * scale;
  if (bytes >= 1.8e19) return absl::InvalidArgumentError("size too large: " + std::string(text));
  return static_cast<uint64_t>(std::llround(bytes));
}

absl::StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  double number = 0;
  std::string unit;
  if (!SplitNumber(text, number, unit)) {
    return absl::InvalidArgumentError("not a duration: \"" + std::string(text) + "\"");
  }
  double ms_per_unit = 0;
  if (unit.empty() || unit == "s")
    ms_per_unit = 1000;
  else if (unit == "ms")
    ms_per_unit = 1;
  else if (unit == "m")
    ms_per_unit = 60e3;
  else if (unit == "h")
    ms_per_unit = 3600e3;
  else if (unit == "d")
    ms_per_unit = 86400e3;
  if (ms_per_unit == 0 || number * ms_per_unit > 1e15) {
    return absl::InvalidArgumentError("bad duration \"" + std::string(text) + "\"");
  }
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(number * ms_per_unit)));
}

std::string FormatSize(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, kUnits[u]);
  return buf;
}

std::string FormatUtcMs(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

}  // namespace mosaic
