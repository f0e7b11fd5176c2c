#include "common/toml_config.h"

#include <fstream>
#include <sstream>

#include "common/status.h"
#include "common/units.h"

namespace mosaic::config {

absl::Status Bad(const std::string& key, const std::string& why) {
  return absl::InvalidArgumentError("config: " + key + ": " + why);
}

absl::StatusOr<toml::table> ParseToml(const std::string& text) {
  try {
    return toml::parse(text);
  } catch (const toml::parse_error& e) {
    std::ostringstream where;
    where << e.source().begin;
    return absl::InvalidArgumentError("config: " + std::string(e.description()) + " at " +
                                      where.str());
  }
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError("cannot read " + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

absl::Status GetSize(const toml::table& t, const std::string& key, uint64_t& out,
                     const std::string& where) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return absl::OkStatus();
  if (auto i = n->value<int64_t>()) {
    if (*i < 0) return Bad(where + key, "must not be negative");
    out = static_cast<uint64_t>(*i);
    return absl::OkStatus();
  }
  auto s = n->value<std::string>();
  if (!s) return Bad(where + key, "expected a size such as \"64MiB\"");
  auto parsed = ParseSize(*s);
  if (!parsed.ok()) return Bad(where + key, std::string(parsed.status().message()));
  out = *parsed;
  return absl::OkStatus();
}

absl::Status GetDuration(const toml::table& t, const std::string& key,
                         std::chrono::milliseconds& out, const std::string& where) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return absl::OkStatus();
  auto s = n->value<std::string>();
  if (!s) return Bad(where + key, "expected a duration such as \"10m\"");
  auto parsed = ParseDuration(*s);
  if (!parsed.ok()) return Bad(where + key, std::string(parsed.status().message()));
  out = *parsed;
  return absl::OkStatus();
}

absl::StatusOr<const toml::table*> Section(const toml::table& root, const char* name) {
  const toml::node* n = root.get(name);
  if (n == nullptr) return nullptr;
  if (!n->is_table()) return Bad(name, "expected a [" + std::string(name) + "] section");
  return n->as_table();
}

absl::Status OnlyKnownKeys(const toml::table& t, std::initializer_list<std::string_view> known,
                           const std::string& where) {
  for (const auto& [key, value] : t) {
    bool found = false;
    for (std::string_view k : known) found = found || key.str() == k;
    if (!found) return Bad(where + std::string(key.str()), "unknown key");
  }
  return absl::OkStatus();
}

}  // namespace mosaic::config
