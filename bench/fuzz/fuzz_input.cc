#include "bench/fuzz/fuzz_input.h"

#include <cctype>

namespace mosaic::fuzz {

std::vector<std::pair<std::string, std::string>> HeaderLines(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  FuzzInput in(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  while (!in.empty() && out.size() < 64) {
    std::string_view line = in.Until('\n');
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name(line.substr(0, colon));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    out.emplace_back(std::move(name), std::string(value));
  }
  return out;
}

}  // namespace mosaic::fuzz
