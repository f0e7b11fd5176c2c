#include "server/gateway/config.h"

#include <toml++/toml.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/status.h"
#include "common/tls_cert.h"
#include "common/toml_config.h"

namespace mosaic::gateway {
namespace {

using config::Bad;
using config::Get;
using config::GetDuration;
using config::GetSize;
using config::OnlyKnownKeys;
using config::ReadFile;
using config::Section;

// tls_fingerprint pins the node's certificate: it must be well-formed and, since tls_ca_file
// is then that very certificate, match it.
absl::Status CheckFingerprint(const client::NodeEndpoint& e, const std::string& where) {
  if (e.tls_fingerprint.empty()) return absl::OkStatus();
  if (!tls::IsFingerprint(e.tls_fingerprint)) {
    return Bad(where + ".tls_fingerprint", "expected \"sha256:\" and 64 lower-case hex digits");
  }
  if (e.tls_ca_pem.empty()) return Bad(where + ".tls_fingerprint", "needs tls_ca_file");
  auto saved = tls::Fingerprint(e.tls_ca_pem);
  if (!saved.ok() || *saved != e.tls_fingerprint) {
    return Bad(where + ".tls_fingerprint", "tls_ca_file holds certificate " +
                                               (saved.ok() ? *saved : "(none)") + ", not " +
                                               e.tls_fingerprint);
  }
  return absl::OkStatus();
}

absl::Status ParseNode(const toml::table& t, GatewayConfig& c) {
  client::NodeEndpoint e;
  std::string ca_file;
  int64_t weight_int = 0;
  RETURN_IF_ERROR(OnlyKnownKeys(t,
                                {"id", "provider", "site", "weight", "address", "token",
                                 "plaintext", "tls_ca_file", "tls_server_name", "tls_fingerprint"},
                                "node."));
  RETURN_IF_ERROR(Get(t, "id", e.spec.id, "node."));
  RETURN_IF_ERROR(Get(t, "provider", e.spec.provider, "node."));
  RETURN_IF_ERROR(Get(t, "site", e.spec.site, "node."));
  if (t.get("weight") && t.get("weight")->is_integer()) {
    RETURN_IF_ERROR(Get(t, "weight", weight_int, "node."));
    e.spec.weight = static_cast<double>(weight_int);
  } else {
    RETURN_IF_ERROR(Get(t, "weight", e.spec.weight, "node."));
  }
  RETURN_IF_ERROR(Get(t, "address", e.address, "node."));
  RETURN_IF_ERROR(Get(t, "token", e.token, "node."));
  RETURN_IF_ERROR(Get(t, "plaintext", e.plaintext, "node."));
  RETURN_IF_ERROR(Get(t, "tls_ca_file", ca_file, "node."));
  RETURN_IF_ERROR(Get(t, "tls_server_name", e.tls_server_name, "node."));
  RETURN_IF_ERROR(Get(t, "tls_fingerprint", e.tls_fingerprint, "node."));
  std::string where = "node " + (e.spec.id.empty() ? std::string("?") : e.spec.id);
  if (e.spec.id.empty() || e.spec.provider.empty() || e.address.empty() || e.token.empty()) {
    return Bad(where, "id, provider, address and token are required");
  }
  if (e.spec.weight <= 0) return Bad(where + ".weight", "must be positive");
  if (!e.plaintext && ca_file.empty()) {
    return Bad(where, "set tls_ca_file (the node's certificate or CA), or plaintext = true");
  }
  if (!ca_file.empty()) {
    auto pem = ReadFile(ca_file);
    if (!pem.ok()) {  // still NOT_FOUND, now naming the key
      return absl::NotFoundError("config: " + where +
                                 ".tls_ca_file: " + std::string(pem.status().message()));
    }
    e.tls_ca_pem = *std::move(pem);
  }
  RETURN_IF_ERROR(CheckFingerprint(e, where));
  c.nodes.push_back(std::move(e));
  return absl::OkStatus();
}

absl::Status ParseNodes(const toml::table& root, GatewayConfig& c) {
  if (const toml::node* n = root.get("node")) {
    const toml::array* list = n->as_array();
    if (list == nullptr) return Bad("node", "expected [[node]] tables");
    std::set<std::string> ids;
    for (const toml::node& item : *list) {
      if (!item.is_table()) return Bad("node", "expected [[node]] tables");
      RETURN_IF_ERROR(ParseNode(*item.as_table(), c));
      if (!ids.insert(c.nodes.back().spec.id).second) {
        return Bad("node " + c.nodes.back().spec.id, "duplicate id");
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ParseSections(const toml::table& root, GatewayConfig& c) {
  ASSIGN_OR_RETURN(const toml::table* erasure, Section(root, "erasure"));
  if (const toml::table* t = erasure) {
    RETURN_IF_ERROR(OnlyKnownKeys(*t, {"k", "m", "stripe_size"}, "erasure."));
    int64_t k = c.pipeline.k, m = c.pipeline.m;
    RETURN_IF_ERROR(Get(*t, "k", k, "erasure."));
    RETURN_IF_ERROR(Get(*t, "m", m, "erasure."));
    if (k < 1 || m < 0 || k + m > 32) return Bad("erasure", "need 1 <= k, 0 <= m, k + m <= 32");
    c.pipeline.k = static_cast<int>(k);
    c.pipeline.m = static_cast<int>(m);
    RETURN_IF_ERROR(GetSize(*t, "stripe_size", c.pipeline.stripe_bytes, "erasure."));
    if (c.pipeline.stripe_bytes < 4096 || c.pipeline.stripe_bytes > (uint64_t{64} << 20)) {
      return Bad("erasure.stripe_size", "must be between 4KiB and 64MiB");
    }
  }
  ASSIGN_OR_RETURN(const toml::table* pipeline, Section(root, "pipeline"));
  if (const toml::table* t = pipeline) {
    RETURN_IF_ERROR(OnlyKnownKeys(*t, {"budget", "workers"}, "pipeline."));
    RETURN_IF_ERROR(GetSize(*t, "budget", c.pipeline.budget_bytes, "pipeline."));
    int64_t workers = c.pipeline.worker_threads;
    RETURN_IF_ERROR(Get(*t, "workers", workers, "pipeline."));
    if (workers < 1 || workers > 256) return Bad("pipeline.workers", "expected 1 to 256");
    c.pipeline.worker_threads = static_cast<int>(workers);
  }
  ASSIGN_OR_RETURN(const toml::table* limits, Section(root, "limits"));
  if (const toml::table* t = limits) {
    RETURN_IF_ERROR(
        OnlyKnownKeys(*t,
                      {"max_object_size", "max_header_size", "max_connections",
                       "max_open_connections", "max_connections_per_address", "head_timeout",
                       "idle_timeout", "transfer_timeout", "request_timeout"},
                      "limits."));
    RETURN_IF_ERROR(GetSize(*t, "max_object_size", c.max_object_bytes, "limits."));
    uint64_t header = c.http.max_header_bytes;
    RETURN_IF_ERROR(GetSize(*t, "max_header_size", header, "limits."));
    // The HTTP parser takes a 32-bit limit; a request line alone needs some room.
    if (header < 1024 || header > (uint64_t{1} << 20)) {
      return Bad("limits.max_header_size", "must be between 1KiB and 1MiB");
    }
    c.http.max_header_bytes = header;
    int64_t conns = static_cast<int64_t>(c.http.max_connections);
    RETURN_IF_ERROR(Get(*t, "max_connections", conns, "limits."));
    if (conns < 1) return Bad("limits.max_connections", "must be at least 1");
    c.http.max_connections = static_cast<size_t>(conns);
    for (auto [key, value] :
         {std::pair{"max_open_connections", &c.http.max_open_connections},
          std::pair{"max_connections_per_address", &c.http.max_connections_per_address}}) {
      int64_t n = static_cast<int64_t>(*value);
      RETURN_IF_ERROR(Get(*t, key, n, "limits."));
      if (n < 1) return Bad(std::string("limits.") + key, "must be at least 1");
      *value = static_cast<size_t>(n);
    }
    RETURN_IF_ERROR(GetDuration(*t, "head_timeout", c.http.head_timeout, "limits."));
    RETURN_IF_ERROR(GetDuration(*t, "idle_timeout", c.http.idle_timeout, "limits."));
    RETURN_IF_ERROR(GetDuration(*t, "transfer_timeout", c.http.transfer_timeout, "limits."));
    RETURN_IF_ERROR(GetDuration(*t, "request_timeout", c.http.request_timeout, "limits."));
  }
  return ParseNodes(root, c);
}

absl::Status ParseMetadata(const toml::table& root, GatewayConfig& c) {
  ASSIGN_OR_RETURN(const toml::table* section, Section(root, "metadata"));
  if (section == nullptr) return absl::OkStatus();
  const toml::table& t = *section;
  RETURN_IF_ERROR(OnlyKnownKeys(t,
                                {"backend", "dsn", "password_file", "pool_size", "lock_timeout",
                                 "statement_timeout", "connect_timeout"},
                                "metadata."));
  std::string backend = "rocksdb";
  RETURN_IF_ERROR(Get(t, "backend", backend, "metadata."));
  meta::PgOptions& pg = c.metadata.postgres;
  RETURN_IF_ERROR(Get(t, "dsn", pg.dsn, "metadata."));
  RETURN_IF_ERROR(Get(t, "password_file", pg.password_file, "metadata."));
  int64_t pool = pg.pool_size;
  RETURN_IF_ERROR(Get(t, "pool_size", pool, "metadata."));
  if (pool < 1 || pool > 1000) return Bad("metadata.pool_size", "expected 1 to 1000");
  pg.pool_size = static_cast<int>(pool);
  for (auto [key, value] : {std::pair{"lock_timeout", &pg.lock_timeout},
                            std::pair{"statement_timeout", &pg.statement_timeout},
                            std::pair{"connect_timeout", &pg.connect_timeout}}) {
    RETURN_IF_ERROR(GetDuration(t, key, *value, "metadata."));
    if (value->count() <= 0) return Bad(std::string("metadata.") + key, "must be positive");
  }
  if (backend == "postgresql") {
    c.metadata.backend = MetadataConfig::Backend::kPostgres;
    if (pg.dsn.empty()) return Bad("metadata.dsn", "is required with backend = \"postgresql\"");
  } else if (backend == "rocksdb") {
    if (!pg.dsn.empty()) return Bad("metadata.dsn", "needs backend = \"postgresql\"");
  } else {
    return Bad("metadata.backend", "expected \"rocksdb\" or \"postgresql\"");
  }
  return absl::OkStatus();
}

absl::Status ParseRepairKeys(const toml::table& root, GatewayConfig& c) {
  RETURN_IF_ERROR(GetSize(root, "repair_bytes_per_second", c.repair_bytes_per_second, ""));
  RETURN_IF_ERROR(Get(root, "repair_stripes_in_flight", c.repair_stripes_in_flight, ""));
  if (c.repair_stripes_in_flight < 1 || c.repair_stripes_in_flight > 64) {
    return Bad("repair_stripes_in_flight", "must be 1 to 64");
  }
  RETURN_IF_ERROR(GetDuration(root, "node_down_after", c.node_down_after, ""));
  RETURN_IF_ERROR(GetDuration(root, "failure_check_interval", c.failure_check_interval, ""));
  if (c.repair_bytes_per_second == 0) return Bad("repair_bytes_per_second", "must be positive");
  if (c.node_down_after.count() <= 0) return Bad("node_down_after", "must be positive");
  if (c.failure_check_interval.count() <= 0) {
    return Bad("failure_check_interval", "must be positive");
  }
  return absl::OkStatus();
}

absl::Status ParseScrubKeys(const toml::table& root, GatewayConfig& c) {
  RETURN_IF_ERROR(GetDuration(root, "orphan_grace", c.orphan_grace, ""));
  RETURN_IF_ERROR(GetDuration(root, "orphan_sweep_interval", c.orphan_sweep_interval, ""));
  RETURN_IF_ERROR(GetSize(root, "deep_scrub_bytes_per_second", c.deep_scrub_bytes_per_second, ""));
  RETURN_IF_ERROR(GetDuration(root, "deep_scrub_interval", c.deep_scrub_interval, ""));
  if (c.orphan_grace.count() < 0) return Bad("orphan_grace", "must not be negative");
  if (c.orphan_sweep_interval.count() < 0)
    return Bad("orphan_sweep_interval", "must not be negative");
  if (c.deep_scrub_interval.count() < 0) return Bad("deep_scrub_interval", "must not be negative");
  if (c.deep_scrub_bytes_per_second == 0) {
    return Bad("deep_scrub_bytes_per_second", "must be positive");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<GatewayConfig> ParseGatewayConfig(const std::string& toml_text) {
  ASSIGN_OR_RETURN(toml::table root, config::ParseToml(toml_text));
  GatewayConfig c;
  RETURN_IF_ERROR(OnlyKnownKeys(root,
                                {"listen",
                                 "admin_listen",
                                 "data_dir",
                                 "key_file",
                                 "region",
                                 "domain",
                                 "log_level",
                                 "multipart_expiry",
                                 "erasure",
                                 "repair_bytes_per_second",
                                 "repair_stripes_in_flight",
                                 "node_down_after",
                                 "failure_check_interval",
                                 "pipeline",
                                 "limits",
                                 "node",
                                 "orphan_grace",
                                 "orphan_sweep_interval",
                                 "deep_scrub_bytes_per_second",
                                 "deep_scrub_interval",
                                 "backup_lag",
                                 "test_lifecycle_day",
                                 "tls_cert_file",
                                 "tls_key_file",
                                 "metadata",
                                 "console_listen",
                                 "public_s3_url"},
                                ""));
  RETURN_IF_ERROR(Get(root, "listen", c.listen, ""));
  RETURN_IF_ERROR(Get(root, "admin_listen", c.admin_listen, ""));
  RETURN_IF_ERROR(Get(root, "console_listen", c.console_listen, ""));
  RETURN_IF_ERROR(Get(root, "public_s3_url", c.public_s3_url, ""));
  RETURN_IF_ERROR(Get(root, "data_dir", c.data_dir, ""));
  RETURN_IF_ERROR(Get(root, "key_file", c.key_file, ""));
  RETURN_IF_ERROR(Get(root, "region", c.region, ""));
  RETURN_IF_ERROR(Get(root, "domain", c.domain, ""));
  RETURN_IF_ERROR(Get(root, "log_level", c.log_level, ""));
  RETURN_IF_ERROR(GetDuration(root, "multipart_expiry", c.multipart_expiry, ""));
  if (c.multipart_expiry.count() <= 0) return Bad("multipart_expiry", "must be positive");
  RETURN_IF_ERROR(ParseScrubKeys(root, c));
  RETURN_IF_ERROR(ParseRepairKeys(root, c));
  RETURN_IF_ERROR(GetDuration(root, "backup_lag", c.backup_lag, ""));
  if (c.backup_lag.count() <= 0) return Bad("backup_lag", "must be positive");
  RETURN_IF_ERROR(GetDuration(root, "test_lifecycle_day", c.lifecycle_day, ""));
  if (c.lifecycle_day.count() <= 0) return Bad("test_lifecycle_day", "must be positive");
  RETURN_IF_ERROR(Get(root, "tls_cert_file", c.tls.cert_file, ""));
  RETURN_IF_ERROR(Get(root, "tls_key_file", c.tls.key_file, ""));
  if (c.tls.cert_file.empty() != c.tls.key_file.empty()) {
    bool cert = !c.tls.cert_file.empty();
    return Bad(cert ? "tls_cert_file" : "tls_key_file",
               cert ? "needs tls_key_file" : "needs tls_cert_file");
  }
  if (c.data_dir.empty()) return Bad("data_dir", "is required");
  if (c.key_file.empty()) return Bad("key_file", "is required");
  RETURN_IF_ERROR(ParseSections(root, c));
  RETURN_IF_ERROR(ParseMetadata(root, c));
  if (c.nodes.empty()) return Bad("node", "at least one [[node]] is required");
  return c;
}

absl::StatusOr<GatewayConfig> LoadGatewayConfig(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  auto config = ParseGatewayConfig(text);
  if (!config.ok()) return Annotate(config.status(), path);
  std::error_code ec;
  config->source_path = std::filesystem::absolute(path, ec).string();
  return config;
}

absl::StatusOr<std::vector<client::NodeEndpoint>> LoadNodeList(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  auto root = config::ParseToml(text);
  if (!root.ok()) return Annotate(root.status(), path);
  GatewayConfig c;
  absl::Status parsed = ParseNodes(*root, c);
  if (!parsed.ok()) return Annotate(parsed, path);
  if (c.nodes.empty()) return Annotate(Bad("node", "at least one [[node]] is required"), path);
  return c.nodes;
}

}  // namespace mosaic::gateway
