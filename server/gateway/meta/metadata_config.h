#pragma once
// The gateway config's [metadata] section (config.h; deploy/gateway.toml documents the keys):
// which backend holds the metadata.

#include "server/gateway/meta/pg_backend.h"

namespace mosaic::gateway {

struct MetadataConfig {
  enum class Backend { kRocksDb, kPostgres };
  // RocksDB in the data folder (one gateway), or PostgreSQL (shared by several gateways).
  Backend backend = Backend::kRocksDb;
  meta::PgOptions postgres;  // with kPostgres
};

}  // namespace mosaic::gateway
