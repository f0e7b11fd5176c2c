#include "common/toml_config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError("cannot read " + path + ": " + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) return absl::NotFoundError("cannot read " + path + ": a directory");
  std::ifstream in(path);
  if (!in) return absl::NotFoundError("cannot read " + path + ": " + std::strerror(errno));
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

absl::Status CheckReadable(const std::string& config_path, const std::string& key,
                           const std::string& file) {
  auto read = ReadFile(file);
  if (read.ok()) return absl::OkStatus();
  return absl::InvalidArgumentError(config_path + ": config: " + key + ": " +
                                    std::string(read.status().message()));
}

std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (char ch : text) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

absl::StatusOr<std::string> MakePrivateFolder(const std::string& dir,
                                              const std::string& config_name) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoToStatus(errno, "create " + dir);
  }
  char* real = ::realpath(dir.c_str(), nullptr);
  if (real == nullptr) return ErrnoToStatus(errno, "resolve " + dir);
  std::string absolute(real);
  std::free(real);
  std::string config_path = absolute + "/" + config_name;
  if (::access(config_path.c_str(), F_OK) == 0) {
    return absl::AlreadyExistsError(config_path + " exists; not overwriting it");
  }
  if (::chmod(absolute.c_str(), 0700) != 0) return ErrnoToStatus(errno, "chmod " + absolute);
  return absolute;
}

absl::Status WriteNewFile(const std::string& path, std::string_view text, int mode, bool replace) {
  std::string target = replace ? path + ".tmp" : path;
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (replace ? O_TRUNC : O_EXCL);
  int fd = ::open(target.c_str(), flags, mode);
  if (fd < 0) return ErrnoToStatus(errno, "create " + target);
  ::fchmod(fd, mode);  // the umask may have narrowed it; never widened past `mode`
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  int saved = errno;
  ::close(fd);
  if (!ok) return ErrnoToStatus(saved, "write " + target);
  if (replace && ::rename(target.c_str(), path.c_str()) != 0) {
    return ErrnoToStatus(errno, "rename " + target);
  }
  return absl::OkStatus();
}

}  // namespace mosaic::config
