// The replay driver: with a compiler that has no libFuzzer (g++), a fuzz target links this
// main instead, which runs LLVMFuzzerTestOneInput once on every file named on the command
// line (folders: every file in them, recursively). CI runs it on each target's seed corpus
// and regression inputs (ctest, label unit); bench/fuzz/run.sh does the real fuzzing.
// Exits 1 on an unreadable path or an empty corpus; a crash is the target's own abort.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

bool RunFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    return false;
  }
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  size_t ran = 0;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path p(argv[i]);
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      std::vector<std::filesystem::path> files;
      for (const auto& e : std::filesystem::recursive_directory_iterator(p)) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
      for (const auto& f : files) {
        if (!RunFile(f)) return 1;
        ++ran;
      }
    } else {
      if (!RunFile(p)) return 1;
      ++ran;
    }
  }
  std::printf("replayed %zu inputs\n", ran);
  return ran > 0 ? 0 : 1;
}
