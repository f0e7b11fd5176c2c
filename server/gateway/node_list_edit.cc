#include "server/gateway/node_list_edit.h"

#include <vector>

namespace mosaic::gateway {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// The value of an `id = "…"` or `id = '…'` line (no escapes in ids), or nullopt.
std::optional<std::string_view> IdOf(std::string_view line) {
  line = Trim(line);
  if (!line.starts_with("id")) return std::nullopt;
  line = Trim(line.substr(2));
  if (!line.starts_with('=')) return std::nullopt;
  line = Trim(line.substr(1));
  if (line.size() < 2 || (line.front() != '"' && line.front() != '\'')) return std::nullopt;
  size_t close = line.find(line.front(), 1);
  if (close == std::string_view::npos) return std::nullopt;
  return line.substr(1, close - 1);
}

}  // namespace

std::optional<std::string> WithoutNode(std::string_view toml_text, std::string_view node_id) {
  std::vector<std::string_view> lines;
  for (size_t at = 0; at < toml_text.size();) {
    size_t end = toml_text.find('\n', at);
    end = end == std::string_view::npos ? toml_text.size() : end + 1;
    lines.push_back(toml_text.substr(at, end - at));
    at = end;
  }
  for (size_t first = 0; first < lines.size(); ++first) {
    if (Trim(lines[first]) != "[[node]]") continue;
    size_t last = first + 1;
    bool match = false;
    for (; last < lines.size() && !Trim(lines[last]).starts_with('['); ++last) {
      match = match || IdOf(lines[last]) == node_id;
    }
    if (!match) continue;
    std::string out;
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i < first || i >= last) out += lines[i];
    }
    return out;
  }
  return std::nullopt;
}

}  // namespace mosaic::gateway
