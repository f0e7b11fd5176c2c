#include "bench/fuzz/fuzz_input.h"

#include <stdlib.h>

#include <cctype>
#include <filesystem>

#include "common/check.h"

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

std::string NewTempDir(const std::string& prefix) {
  std::error_code ec;
  std::filesystem::path base = std::filesystem::is_directory("/dev/shm", ec)
                                   ? std::filesystem::path("/dev/shm")
                                   : std::filesystem::temp_directory_path();
  std::string dir = (base / (prefix + "-XXXXXX")).string();
  CHECK(mkdtemp(dir.data()) != nullptr);
  return dir;
}

}  // namespace mosaic::fuzz
