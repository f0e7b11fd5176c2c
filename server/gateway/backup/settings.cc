#include "server/gateway/backup/settings.h"

#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <sstream>

#include "common/clock.h"
#include "common/status.h"
#include "common/toml_config.h"
#include "common/units.h"
#include "server/gateway/config.h"

namespace mosaic::gateway {
namespace {

constexpr const char* kListenerFiles[] = {"tls_cert_file", "tls_key_file"};

// The [[node]] tables of a config (none if the key is absent or not an array).
std::vector<toml::table*> NodeTables(toml::table& root) {
  std::vector<toml::table*> out;
  if (toml::array* nodes = root.get_as<toml::array>("node")) {
    for (toml::node& n : *nodes) {
      if (toml::table* t = n.as_table()) out.push_back(t);
    }
  }
  return out;
}

absl::Status Carry(const std::string& path, v1::GatewaySettings& out) {
  if (path.empty() || out.files().contains(path)) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::string bytes, config::ReadFile(path));
  (*out.mutable_files())[path] = std::move(bytes);
  return absl::OkStatus();
}

absl::Status MakeFolder(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST) return absl::OkStatus();
  return absl::UnavailableError("cannot create " + dir + ": " + std::strerror(errno));
}

// A node id as a file name: ids are short words, but the backup is not trusted to keep them so.
std::string FileNameOf(const std::string& id, size_t index) {
  bool plain = !id.empty() && id.size() <= 64 && id[0] != '.';
  for (char c : id)
    plain =
        plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
  return plain ? id : "node-" + std::to_string(index);
}

// Writes the file that `t`[`key`] names to `target` and points the key at it.
absl::Status Place(const v1::GatewaySettings& settings, toml::table& t, const char* key,
                   const std::string& target, int mode) {
  const std::string* path =
      t.get_as<std::string>(key) ? &t.get_as<std::string>(key)->get() : nullptr;
  if (path == nullptr) return absl::OkStatus();
  auto it = settings.files().find(*path);
  if (it == settings.files().end()) {
    return absl::DataLossError("the backed-up settings lack " + *path + " (" + key + ")");
  }
  RETURN_IF_ERROR(config::WriteNewFile(target, it->second, mode, /*replace=*/true));
  t.insert_or_assign(key, target);
  return absl::OkStatus();
}

// Points `root`'s [metadata] at the PostgreSQL database restored into; the tuning of a
// section that named PostgreSQL already is kept.
void PostgresSection(toml::table& root, const meta::PgOptions& pg) {
  toml::table section;
  if (auto old = root.get_as<toml::table>("metadata")) {
    auto backend = old->get_as<std::string>("backend");
    if (backend && backend->get() == "postgresql") section = *old;
  }
  section.insert_or_assign("backend", "postgresql");
  section.insert_or_assign("dsn", pg.dsn);
  section.erase("password_file");
  if (!pg.password_file.empty()) {
    section.insert_or_assign("password_file", std::filesystem::absolute(pg.password_file).string());
  }
  root.insert_or_assign("metadata", std::move(section));
}

}  // namespace

absl::StatusOr<v1::GatewaySettings> ReadGatewaySettings(const std::string& config_path) {
  v1::GatewaySettings out;
  ASSIGN_OR_RETURN(std::string text, config::ReadFile(config_path));
  ASSIGN_OR_RETURN(toml::table root, config::ParseToml(text));
  for (const char* key : kListenerFiles) {
    if (auto path = root.get_as<std::string>(key)) RETURN_IF_ERROR(Carry(path->get(), out));
  }
  for (toml::table* node : NodeTables(root)) {
    if (auto path = node->get_as<std::string>("tls_ca_file")) {
      RETURN_IF_ERROR(Carry(path->get(), out));
    }
  }
  out.set_config_toml(std::move(text));
  out.set_read_ms(UnixNowMs());
  return out;
}

absl::Status AddRuntimeNodes(const std::vector<client::NodeEndpoint>& added,
                             v1::GatewaySettings& settings) {
  ASSIGN_OR_RETURN(toml::table root, config::ParseToml(settings.config_toml()));
  std::set<std::string> listed;
  for (toml::table* node : NodeTables(root)) {
    if (auto id = node->get_as<std::string>("id")) listed.insert(id->get());
  }
  std::string extra;
  for (const client::NodeEndpoint& e : added) {
    if (!listed.insert(e.spec.id).second) continue;
    extra +=
        "\n# Added to the running gateway (`mosaic node add`), kept in its metadata.\n"
        "[[node]]\nid = " +
        config::Quote(e.spec.id) + "\nprovider = " + config::Quote(e.spec.provider) +
        "\naddress = " + config::Quote(e.address) + "\ntoken = " + config::Quote(e.token) +
        "\nweight = " + std::to_string(e.spec.weight) + "\n";
    if (!e.spec.site.empty()) extra += "site = " + config::Quote(e.spec.site) + "\n";
    if (e.plaintext) extra += "plaintext = true\n";
    if (!e.tls_ca_pem.empty()) {
      std::string name = "runtime-node/" + e.spec.id + ".crt";
      (*settings.mutable_files())[name] = e.tls_ca_pem;
      extra += "tls_ca_file = " + config::Quote(name) + "\n";
    }
    if (!e.tls_server_name.empty()) {
      extra += "tls_server_name = " + config::Quote(e.tls_server_name) + "\n";
    }
    if (!e.tls_fingerprint.empty()) {
      extra += "tls_fingerprint = " + config::Quote(e.tls_fingerprint) + "\n";
    }
  }
  settings.mutable_config_toml()->append(extra);
  return absl::OkStatus();
}

bool SameSettings(const v1::GatewaySettings& a, const v1::GatewaySettings& b) {
  if (a.config_toml() != b.config_toml() || a.files_size() != b.files_size()) return false;
  for (const auto& [path, bytes] : a.files()) {
    auto it = b.files().find(path);
    if (it == b.files().end() || it->second != bytes) return false;
  }
  return true;
}

absl::StatusOr<RestoredConfig> WriteRestoredConfig(const v1::GatewaySettings& settings,
                                                   const std::string& into,
                                                   const std::string& key_file,
                                                   const MetadataConfig& metadata) {
  if (settings.config_toml().empty()) {
    return absl::FailedPreconditionError("the backup carries no gateway settings");
  }
  ASSIGN_OR_RETURN(toml::table root, config::ParseToml(settings.config_toml()));
  RestoredConfig out;
  std::string dir = std::filesystem::absolute(into).lexically_normal().string();
  for (const std::string& d : {dir, dir + "/tls", dir + "/nodes"}) RETURN_IF_ERROR(MakeFolder(d));
  root.insert_or_assign("data_dir", dir);
  root.insert_or_assign("key_file", std::filesystem::absolute(key_file).string());
  RETURN_IF_ERROR(Place(settings, root, "tls_cert_file", dir + "/tls/s3.crt", 0644));
  RETURN_IF_ERROR(Place(settings, root, "tls_key_file", dir + "/tls/s3.key", 0600));
  std::vector<toml::table*> nodes = NodeTables(root);
  for (size_t i = 0; i < nodes.size(); ++i) {
    auto id = nodes[i]->get_as<std::string>("id");
    std::string name = FileNameOf(id ? id->get() : "", i);
    RETURN_IF_ERROR(
        Place(settings, *nodes[i], "tls_ca_file", dir + "/nodes/" + name + ".crt", 0644));
  }
  if (metadata.backend == MetadataConfig::Backend::kPostgres) {
    PostgresSection(root, metadata.postgres);
  } else if (auto section = root.get_as<toml::table>("metadata")) {
    auto backend = section->get_as<std::string>("backend");
    if (backend && backend->get() == "postgresql") {
      root.erase("metadata");
      out.notes.push_back(
          "the backed-up gateway kept its metadata in PostgreSQL; this restore wrote it into " +
          dir + "/meta (RocksDB), so the [metadata] section is left out of the config");
    }
  }
  std::ostringstream text;
  text << "# Written by `mosaic restore` from the settings in the metadata backup (read by\n"
       << "# the gateway at " << FormatUtcMs(settings.read_ms()) << "). It holds the nodes'"
       << " tokens: keep it private.\n\n"
       << root << "\n";
  auto check = ParseGatewayConfig(text.str());
  if (!check.ok()) {
    return absl::InvalidArgumentError("the restored config would not start: " +
                                      std::string(check.status().message()));
  }
  out.path = dir + "/gateway.toml";
  RETURN_IF_ERROR(config::WriteNewFile(out.path, text.str(), 0600, /*replace=*/true));
  return out;
}

}  // namespace mosaic::gateway
