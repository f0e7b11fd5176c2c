#include "server/node/config.h"

#include <toml++/toml.h>

#include <fstream>
#include <set>
#include <sstream>

#include "common/status.h"
#include "common/toml_config.h"
#include "server/node/store/record.h"

namespace mosaic::node {
namespace {

using config::Bad;
using config::Get;
using config::GetDuration;
using config::GetSize;

absl::Status GetString(const toml::table& t, const std::string& key, std::string& out,
                       const std::string& prefix = "") {
  return Get(t, key, out, prefix);
}

const toml::table* Section(const toml::table& root, const char* name) {
  const toml::node* n = root.get(name);
  return n == nullptr ? nullptr : n->as_table();
}

absl::Status ParseStorage(const toml::table& root, NodeConfig& c) {
  const toml::table* t = Section(root, "storage");
  if (t == nullptr) return absl::OkStatus();
  RETURN_IF_ERROR(config::OnlyKnownKeys(
      *t, {"segment_size", "reserved_free", "compact_below", "reader_threads", "io_engine"},
      "storage."));
  RETURN_IF_ERROR(GetSize(*t, "segment_size", c.store.segment_size_bytes, "storage."));
  RETURN_IF_ERROR(GetSize(*t, "reserved_free", c.store.reserved_free_bytes, "storage."));
  if (const toml::node* n = t->get("compact_below")) {
    auto v = n->value<double>();
    if (!v || *v < 0 || *v >= 1) return Bad("storage.compact_below", "expected 0 <= x < 1");
    c.store.compact_below = *v;
  }
  if (const toml::node* n = t->get("reader_threads")) {
    auto v = n->value<int64_t>();
    if (!v || *v < 1 || *v > 64) return Bad("storage.reader_threads", "expected 1 to 64");
    c.store.reader_threads = static_cast<int>(*v);
  }
  std::string engine = io::IoEngineName(c.io_engine);
  RETURN_IF_ERROR(GetString(*t, "io_engine", engine, "storage."));
  std::optional<io::IoEngine> parsed = io::ParseIoEngine(engine);
  if (!parsed) return Bad("storage.io_engine", "expected \"auto\", \"io_uring\" or \"posix\"");
  c.io_engine = *parsed;
  if (c.store.segment_size_bytes < (uint64_t{1} << 20)) {
    return Bad("storage.segment_size", "must be at least 1MiB");
  }
  return absl::OkStatus();
}

absl::Status ParseTenants(const toml::table& root, NodeConfig& c) {
  const toml::node* n = root.get("tenant");
  if (n == nullptr) return absl::OkStatus();
  const toml::array* list = n->as_array();
  if (list == nullptr) return Bad("tenant", "expected [[tenant]] tables");
  std::set<std::string> names, hashes;
  for (const toml::node& item : *list) {
    const toml::table* t = item.as_table();
    if (t == nullptr) return Bad("tenant", "expected [[tenant]] tables");
    RETURN_IF_ERROR(
        config::OnlyKnownKeys(*t, {"name", "token_sha256", "quota", "max_chunks"}, "tenant."));
    TenantConfig tc;
    RETURN_IF_ERROR(GetString(*t, "name", tc.name, "tenant."));
    RETURN_IF_ERROR(GetString(*t, "token_sha256", tc.token_sha256, "tenant."));
    RETURN_IF_ERROR(GetSize(*t, "quota", tc.quota_bytes, "tenant."));
    int64_t max_chunks = static_cast<int64_t>(tc.max_chunks);
    RETURN_IF_ERROR(config::Get(*t, "max_chunks", max_chunks, "tenant."));
    if (max_chunks < 0) return Bad("tenant " + tc.name + ".max_chunks", "must be 0 or more");
    tc.max_chunks = static_cast<uint64_t>(max_chunks);
    if (tc.name.empty() || tc.name.size() > kMaxTenantSize ||
        tc.name.find('\0') != std::string::npos) {
      return Bad("tenant.name", "must be 1 to 64 bytes without NUL");
    }
    if (tc.token_sha256.size() != 64 ||
        tc.token_sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
      return Bad("tenant " + tc.name + ".token_sha256", "expected 64 lower-case hex digits");
    }
    if (!names.insert(tc.name).second) return Bad("tenant " + tc.name, "duplicate name");
    if (!hashes.insert(tc.token_sha256).second) {
      return Bad("tenant " + tc.name, "token shared with another tenant");
    }
    c.tenants.push_back(std::move(tc));
  }
  return absl::OkStatus();
}

absl::Status ParseTopLevel(const toml::table& root, NodeConfig& c) {
  RETURN_IF_ERROR(GetString(root, "node_id", c.node_id));
  RETURN_IF_ERROR(GetString(root, "provider", c.provider));
  RETURN_IF_ERROR(GetString(root, "advertise", c.advertise));
  RETURN_IF_ERROR(GetString(root, "data_dir", c.store.dir));
  RETURN_IF_ERROR(GetString(root, "listen", c.listen));
  RETURN_IF_ERROR(GetString(root, "metrics_listen", c.metrics_listen));
  RETURN_IF_ERROR(GetString(root, "log_level", c.log_level));
  RETURN_IF_ERROR(GetSize(root, "max_chunk_size", c.store.max_chunk_bytes, ""));
  if (c.store.dir.empty()) return Bad("data_dir", "is required");
  if (c.store.max_chunk_bytes == 0 || c.store.max_chunk_bytes > kMaxRecordPayload) {
    return Bad("max_chunk_size", "must be between 1 byte and 64MiB");
  }
  if (const toml::table* tls = Section(root, "tls")) {
    RETURN_IF_ERROR(config::OnlyKnownKeys(*tls, {"cert", "key", "plaintext"}, "tls."));
    RETURN_IF_ERROR(GetString(*tls, "cert", c.tls_cert, "tls."));
    RETURN_IF_ERROR(GetString(*tls, "key", c.tls_key, "tls."));
    if (const toml::node* n = tls->get("plaintext")) {
      auto v = n->value<bool>();
      if (!v) return Bad("tls.plaintext", "expected true or false");
      c.plaintext = *v;
    }
  }
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    return Bad("tls", "cert and key must be given together");
  }
  if (c.tls_cert.empty() && !c.plaintext) {
    return Bad("tls", "set cert and key, or plaintext = true to serve without TLS");
  }
  return absl::OkStatus();
}

absl::Status ParseScrub(const toml::table& root, NodeConfig& c) {
  const toml::table* t = Section(root, "scrub");
  if (t == nullptr) return absl::OkStatus();
  RETURN_IF_ERROR(config::OnlyKnownKeys(*t, {"rate", "interval"}, "scrub."));
  RETURN_IF_ERROR(GetSize(*t, "rate", c.store.scrub_bytes_per_second, "scrub."));
  return GetDuration(*t, "interval", c.store.scrub_interval, "scrub.");
}

}  // namespace

absl::StatusOr<NodeConfig> ParseNodeConfig(const std::string& toml_text) {
  ASSIGN_OR_RETURN(toml::table root, config::ParseToml(toml_text));
  NodeConfig c;
  RETURN_IF_ERROR(config::OnlyKnownKeys(
      root,
      {"node_id", "provider", "advertise", "data_dir", "listen", "metrics_listen", "log_level",
       "max_chunk_size", "tls", "storage", "scrub", "tenant"},
      ""));
  RETURN_IF_ERROR(ParseTopLevel(root, c));
  RETURN_IF_ERROR(ParseStorage(root, c));
  RETURN_IF_ERROR(ParseScrub(root, c));
  RETURN_IF_ERROR(ParseTenants(root, c));
  return c;
}

absl::StatusOr<NodeConfig> LoadNodeConfig(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, config::ReadFile(path));
  auto parsed = ParseNodeConfig(text);
  if (!parsed.ok()) return Annotate(parsed.status(), path);
  return parsed;
}

}  // namespace mosaic::node
