#pragma once
// The MetaStore under test for a test's folder: RocksDB in the folder, or, in the programs
// built with MOSAIC_TEST_POSTGRES (gateway_meta_pg_test: the same tests against PostgreSQL), a
// database of its own on one PostgreSQL server per test process (LocalPostgres in a temporary
// folder, fsync off), named after the folder: reopening the folder reopens that database.
// A PostgreSQL that cannot start fails the test.

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/status.h"
#include "server/gateway/meta/local_postgres.h"
#include "server/gateway/meta/meta_store.h"

namespace mosaic::gateway {

#ifdef MOSAIC_TEST_POSTGRES
inline constexpr bool kTestOnPostgres = true;
#else
inline constexpr bool kTestOnPostgres = false;
#endif

// The test process's PostgreSQL, started at its first use, stopped and removed at exit.
class TestPostgres {
 public:
  static absl::StatusOr<TestPostgres*> Get() {
    static TestPostgres server;
    if (!server.pg_.ok()) return server.pg_.status();
    return &server;
  }
  meta::LocalPostgres& pg() { return *pg_; }
  ~TestPostgres() {
    if (pg_.ok()) (void)pg_->Stop();
    std::filesystem::remove_all(dir_);
  }

 private:
  TestPostgres() : pg_(absl::UnknownError("not started")) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "meta_pg.XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) return;
    dir_ = tmpl;
    // The server's user (`nobody` when we are root) enters it to reach its own folder.
    std::filesystem::permissions(dir_, std::filesystem::perms::others_exec,
                                 std::filesystem::perm_options::add);
    pg_ = meta::LocalPostgres::Start(dir_ + "/pg", {.durable = false});
  }
  std::string dir_;
  absl::StatusOr<meta::LocalPostgres> pg_;
};

// The DSN of a database of its own for `dir`, created if missing.
inline absl::StatusOr<std::string> TestDatabase(const std::string& dir) {
  ASSIGN_OR_RETURN(TestPostgres * server, TestPostgres::Get());
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : dir) h = (h ^ c) * 1099511628211ull;
  std::string name = "t" + std::to_string(h);
  RETURN_IF_ERROR(server->pg().CreateDatabase(name));
  return server->pg().Dsn(name);
}

inline absl::StatusOr<std::unique_ptr<MetaStore>> OpenTestStore(const std::string& dir) {
  if (!kTestOnPostgres) return MetaStore::Open(dir);
  MetadataConfig config;
  config.backend = MetadataConfig::Backend::kPostgres;
  ASSIGN_OR_RETURN(config.postgres.dsn, TestDatabase(dir));
  return MetaStore::Open(config, dir);
}

// Sets the versioning of bucket `bucket` of `store` (an existing bucket).
inline absl::Status SetVersioning(MetaStore& store, const std::string& bucket,
                                  v1::BucketRecord::Versioning v) {
  return store.UpdateBucket(bucket, [&](v1::BucketRecord& r) {
    r.set_versioning(v);
    return absl::OkStatus();
  });
}

}  // namespace mosaic::gateway
