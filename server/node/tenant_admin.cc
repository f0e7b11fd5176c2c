#include "server/node/tenant_admin.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <filesystem>
#include <string_view>

#include "common/status.h"
#include "common/toml_config.h"
#include "common/units.h"

namespace mosaic::node {
namespace {

// A table of node.toml as a byte range: from its header line to the next header (or the
// end). The file is cut at every line that starts with '[' once leading blanks are skipped.
struct Block {
  size_t begin = 0;
  size_t end = 0;
};

bool IsHeaderLine(std::string_view line) {
  size_t first = line.find_first_not_of(" \t");
  return first != std::string_view::npos && line[first] == '[';
}

std::vector<Block> SplitTables(const std::string& text) {
  std::vector<Block> blocks{{0, 0}};
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    size_t next = eol == std::string::npos ? text.size() : eol + 1;
    if (IsHeaderLine(std::string_view(text).substr(pos, next - pos))) {
      blocks.back().end = pos;
      blocks.push_back({pos, pos});
    }
    pos = next;
  }
  blocks.back().end = text.size();
  return blocks;
}

// The name of the [[tenant]] table `block` holds, or "" when it holds something else.
std::string TenantNameOf(const std::string& text, const Block& block) {
  auto table = config::ParseToml(text.substr(block.begin, block.end - block.begin));
  if (!table.ok()) return "";
  const toml::array* list = table->get_as<toml::array>("tenant");
  if (list == nullptr || list->size() != 1 || !list->get(0)->is_table()) return "";
  const toml::value<std::string>* name = list->get(0)->as_table()->get_as<std::string>("name");
  return name == nullptr ? "" : name->get();
}

absl::StatusOr<Block> FindTenant(const std::string& text, const std::string& name) {
  for (const Block& b : SplitTables(text)) {
    if (TenantNameOf(text, b) == name) return b;
  }
  return absl::NotFoundError("no tenant named " + name);
}

// A quota line: `quota = …` with any blanks.
bool IsQuotaLine(std::string_view line) {
  size_t first = line.find_first_not_of(" \t");
  if (first == std::string_view::npos || line.substr(first, 5) != "quota") return false;
  size_t eq = line.find_first_not_of(" \t", first + 5);
  return eq != std::string_view::npos && line[eq] == '=';
}

const TenantConfig* Named(const NodeConfig& c, const std::string& name) {
  for (const TenantConfig& t : c.tenants) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<std::string> SetTenantQuotaInToml(const std::string& toml_text,
                                                 const std::string& name,
                                                 const std::string& quota) {
  ASSIGN_OR_RETURN(uint64_t quota_bytes, ParseSize(quota));
  ASSIGN_OR_RETURN(Block block, FindTenant(toml_text, name));
  std::string table = toml_text.substr(block.begin, block.end - block.begin);
  std::string line = "quota = " + config::Quote(quota) + "\n";
  size_t header_end = table.find('\n');
  header_end = header_end == std::string::npos ? table.size() : header_end + 1;
  std::string edited = table.substr(0, header_end);
  bool replaced = false;
  for (size_t pos = header_end; pos < table.size();) {
    size_t eol = table.find('\n', pos);
    size_t next = eol == std::string::npos ? table.size() : eol + 1;
    std::string_view current = std::string_view(table).substr(pos, next - pos);
    edited += IsQuotaLine(current) && !replaced ? line : std::string(current);
    replaced = replaced || IsQuotaLine(current);
    pos = next;
  }
  if (!replaced) edited.insert(header_end, line);
  std::string out = toml_text.substr(0, block.begin) + edited + toml_text.substr(block.end);
  // Checked, so that an edit this line-by-line method got wrong never reaches the file.
  ASSIGN_OR_RETURN(NodeConfig check, ParseNodeConfig(out));
  const TenantConfig* t = Named(check, name);
  if (t == nullptr || t->quota_bytes != quota_bytes) {
    return absl::InvalidArgumentError("cannot edit tenant " + name + "'s quota in place");
  }
  return out;
}

absl::StatusOr<std::string> RemoveTenantFromToml(const std::string& toml_text,
                                                 const std::string& name) {
  ASSIGN_OR_RETURN(NodeConfig before, ParseNodeConfig(toml_text));
  ASSIGN_OR_RETURN(Block block, FindTenant(toml_text, name));
  std::string out = toml_text.substr(0, block.begin) + toml_text.substr(block.end);
  ASSIGN_OR_RETURN(NodeConfig check, ParseNodeConfig(out));
  if (Named(check, name) != nullptr || check.tenants.size() + 1 != before.tenants.size()) {
    return absl::InvalidArgumentError("cannot remove tenant " + name + "'s table in place");
  }
  return out;
}

absl::StatusOr<std::map<std::string, TenantUsage>> ReadTenantUsage(const std::string& data_dir) {
  std::string index = data_dir + "/index";
  struct stat st;
  if (::stat((index + "/CURRENT").c_str(), &st) != 0) return std::map<std::string, TenantUsage>{};
  std::string scratch = (std::filesystem::temp_directory_path() / "mosaic-index-XXXXXX").string();
  if (::mkdtemp(scratch.data()) == nullptr) return ErrnoToStatus(errno, "mkdtemp " + scratch);
  auto reader = ChunkIndex::OpenReader(index, scratch);
  absl::StatusOr<StoredUsage> stored =
      reader.ok() ? (*reader)->LoadUsage() : absl::StatusOr<StoredUsage>(reader.status());
  reader = absl::CancelledError();  // closes the reader before its scratch folder goes
  std::error_code ignored;
  std::filesystem::remove_all(scratch, ignored);
  if (!stored.ok()) return stored.status();
  return std::move(stored->usage);
}

absl::StatusOr<uint64_t> DiskCapacityBytes(const std::string& dir) {
  struct statvfs vfs;
  if (::statvfs(dir.c_str(), &vfs) != 0) return ErrnoToStatus(errno, "statvfs " + dir);
  return uint64_t{vfs.f_blocks} * vfs.f_frsize;
}

std::optional<std::string> QuotasOverDisk(const std::vector<TenantConfig>& tenants,
                                          uint64_t disk_bytes) {
  uint64_t sum = 0;
  for (const TenantConfig& t : tenants) sum += t.quota_bytes;
  if (sum <= disk_bytes) return std::nullopt;
  return "the tenants' quotas add up to " + FormatSize(sum) + ", more than the disk's " +
         FormatSize(disk_bytes) + ": groups may fill the disk before their quotas";
}

bool SignalRunningNode(const std::string& data_dir) {
  auto text = config::ReadFile(data_dir + "/node.pid");
  if (!text.ok()) return false;
  pid_t pid = static_cast<pid_t>(std::atol(text->c_str()));
  return pid > 0 && ::kill(pid, SIGHUP) == 0;
}

}  // namespace mosaic::node
