#include "common/format_file.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace mosaic {
namespace {

namespace fs = std::filesystem;
constexpr char kPrefix[] = "mosaic-format: ";

absl::Status Write(const std::string& path, const std::string& name, int version) {
  // Written whole to a temporary file, then renamed: a crash leaves no half-written file.
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << kPrefix << name << ' ' << version << '\n';
    out.flush();
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot rename ", tmp, ": ", ec.message()));
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckFormatFile(const std::string& dir, const std::string& name, int version) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  std::string path = dir + "/FORMAT";
  std::ifstream in(path);
  if (!in) return Write(path, name, version);
  std::string line;
  std::getline(in, line);
  std::string expected = absl::StrCat(kPrefix, name, " ");
  int found = 0;
  if (line.rfind(expected, 0) != 0 || !absl::SimpleAtoi(line.substr(expected.size()), &found)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": \"", line, "\" is not \"", expected,
                                                   "N\": not a folder of this kind"));
  }
  if (found > version) {
    return absl::FailedPreconditionError(absl::StrCat(
        dir, " holds ", name, " format version ", found, ": this mosaic reads version ", version,
        " (a newer mosaic wrote it: install that one again; docs/upgrading.md)"));
  }
  return absl::OkStatus();
}

}  // namespace mosaic
