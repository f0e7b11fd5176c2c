#pragma once
// Helpers for reading TOML config files (toml++) with errors that name the key:
// INVALID_ARGUMENT "config: <where><key>: <why>". Shared by the node's and the gateway's
// configs. Thread-safe (no state).

#include <toml++/toml.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace mosaic::config {

absl::Status Bad(const std::string& key, const std::string& why);

// Parses TOML text; INVALID_ARGUMENT with the parser's message and position.
[[nodiscard]] absl::StatusOr<toml::table> ParseToml(const std::string& text);

// The whole file; NOT_FOUND if it cannot be read.
[[nodiscard]] absl::StatusOr<std::string> ReadFile(const std::string& path);

// Reads an optional key of type T (std::string, bool, int64_t, double) into `out`; leaves
// `out` alone when the key is absent.
template <typename T>
[[nodiscard]] absl::Status Get(const toml::table& t, const std::string& key, T& out,
                               const std::string& where) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return absl::OkStatus();
  auto v = n->value<T>();
  if (!v) return Bad(where + key, "has the wrong type");
  out = *v;
  return absl::OkStatus();
}

// A size: a number of bytes or a string with a unit ("8MiB").
[[nodiscard]] absl::Status GetSize(const toml::table& t, const std::string& key, uint64_t& out,
                                   const std::string& where);
// A duration string ("10m").
[[nodiscard]] absl::Status GetDuration(const toml::table& t, const std::string& key,
                                       std::chrono::milliseconds& out, const std::string& where);

// The table `name` of `root`; nullptr when absent, INVALID_ARGUMENT when not a table.
[[nodiscard]] absl::StatusOr<const toml::table*> Section(const toml::table& root, const char* name);

// INVALID_ARGUMENT naming the first key of `t` not in `known`: a misspelt key would
// otherwise leave its default in place without a word.
[[nodiscard]] absl::Status OnlyKnownKeys(const toml::table& t,
                                         std::initializer_list<std::string_view> known,
                                         const std::string& where);

// For a daemon about to start: INVALID_ARGUMENT "<config_path>: config: <key>: cannot read
// <file>: <why>" when the file a key names cannot be read, so that the error names the key
// instead of surfacing later as a start-up failure.
[[nodiscard]] absl::Status CheckReadable(const std::string& config_path, const std::string& key,
                                         const std::string& file);

// Writing config files (the onboarding commands).

// `text` as a TOML basic string, quotes included ("a \"b\"").
std::string Quote(std::string_view text);

// For an init command: creates folder `dir` (or takes an existing one) with mode 0700 and
// returns its absolute path; ALREADY_EXISTS if `dir`/`config_name` exists (an init never
// overwrites a config), errno statuses naming the folder otherwise.
[[nodiscard]] absl::StatusOr<std::string> MakePrivateFolder(const std::string& dir,
                                                            const std::string& config_name);

// Creates `path` with `mode` and writes `text`, synced. ALREADY_EXISTS if the file exists
// (unless `replace`, which writes a temporary file and renames it over `path`); other
// failures are errno statuses naming the path.
[[nodiscard]] absl::Status WriteNewFile(const std::string& path, std::string_view text, int mode,
                                        bool replace = false);

}  // namespace mosaic::config
