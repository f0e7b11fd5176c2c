// The gateway's settings in the backup (issue 20): read with the files the config names, and
// written back by a restore as a config that starts as it is, its paths in the new folder.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/tls_cert.h"
#include "server/gateway/backup/settings.h"
#include "server/gateway/config.h"

namespace mosaic::gateway {
namespace {

class GatewaySettingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/mosaic-settings-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = std::filesystem::path(tmpl).lexically_normal().string();
    auto node = tls::MakeSelfSigned("127.0.0.1");
    auto s3 = tls::MakeSelfSigned("127.0.0.1");
    ASSERT_TRUE(node.ok() && s3.ok());
    node_cert_ = node->cert_pem;
    s3_cert_ = s3->cert_pem;
    s3_key_ = s3->key_pem;
    auto fingerprint = tls::Fingerprint(node_cert_);
    ASSERT_TRUE(fingerprint.ok());
    Write(dir_ + "/old/n1.crt", node_cert_);
    Write(dir_ + "/old/s3.crt", s3_cert_);
    Write(dir_ + "/old/s3.key", s3_key_);
    config_ = "data_dir = \"" + dir_ + "/old\"\nkey_file = \"" + dir_ +
              "/old/master.key\"\nlisten = \"127.0.0.1:9443\"\nregion = \"eu-coop\"\n"
              "tls_cert_file = \"" +
              dir_ + "/old/s3.crt\"\ntls_key_file = \"" + dir_ +
              "/old/s3.key\"\n[erasure]\nk = 2\nm = 1\n[metadata]\nbackend = \"postgresql\"\n"
              "dsn = \"host=/run/pg dbname=mosaic\"\n[[node]]\nid = \"n1\"\nprovider = \"p1\"\n"
              "address = \"127.0.0.1:7001\"\ntoken = \"secret-1\"\ntls_ca_file = \"" +
              dir_ + "/old/n1.crt\"\ntls_fingerprint = \"" + *fingerprint +
              "\"\n[[node]]\nid = \"n2\"\nprovider = \"p2\"\naddress = \"127.0.0.1:7002\"\n"
              "token = \"secret-2\"\nplaintext = true\n";
    Write(dir_ + "/old/gateway.toml", config_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static void Write(const std::string& path, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path) << text;
  }
  static std::string Read(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::string dir_, config_, node_cert_, s3_cert_, s3_key_;
};

TEST_F(GatewaySettingsTest, ReadCarriesTheConfigAndTheFilesItNames) {
  auto settings = ReadGatewaySettings(dir_ + "/old/gateway.toml");
  ASSERT_TRUE(settings.ok()) << settings.status();
  EXPECT_EQ(settings->config_toml(), config_);
  ASSERT_EQ(settings->files_size(), 3);
  EXPECT_EQ(settings->files().at(dir_ + "/old/n1.crt"), node_cert_);
  EXPECT_EQ(settings->files().at(dir_ + "/old/s3.key"), s3_key_);
  EXPECT_GT(settings->read_ms(), 0);

  std::filesystem::remove(dir_ + "/old/s3.key");
  auto missing = ReadGatewaySettings(dir_ + "/old/gateway.toml");
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("s3.key"), std::string::npos) << missing.status();
}

TEST_F(GatewaySettingsTest, RestoredConfigStartsFromTheNewFolderAlone) {
  auto settings = ReadGatewaySettings(dir_ + "/old/gateway.toml");
  ASSERT_TRUE(settings.ok()) << settings.status();
  std::filesystem::remove_all(dir_ + "/old");  // the lost machine
  std::string into = dir_ + "/new";
  auto written = WriteRestoredConfig(*settings, into, "key/master.key");
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->path, into + "/gateway.toml");
  ASSERT_EQ(written->notes.size(), 1u);
  EXPECT_NE(written->notes[0].find("PostgreSQL"), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat(written->path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((into + "/tls/s3.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto config = LoadGatewayConfig(written->path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->data_dir, into);
  EXPECT_EQ(config->key_file, std::filesystem::absolute("key/master.key").string());
  EXPECT_EQ(config->listen, "127.0.0.1:9443");
  EXPECT_EQ(config->region, "eu-coop");
  EXPECT_EQ(config->pipeline.k, 2);
  EXPECT_EQ(config->pipeline.m, 1);
  EXPECT_EQ(config->metadata.backend, MetadataConfig::Backend::kRocksDb);
  EXPECT_EQ(config->tls.cert_file, into + "/tls/s3.crt");
  EXPECT_EQ(Read(config->tls.key_file), s3_key_);
  ASSERT_EQ(config->nodes.size(), 2u);
  EXPECT_EQ(config->nodes[0].token, "secret-1");
  EXPECT_EQ(config->nodes[0].tls_ca_pem, node_cert_);
  EXPECT_TRUE(config->nodes[1].plaintext);
  EXPECT_EQ(Read(written->path).find(dir_ + "/old"), std::string::npos);

  // Written again (a newer root found on every node): the files are replaced.
  EXPECT_TRUE(WriteRestoredConfig(*settings, into, "key/master.key").ok());
}

// `mosaic restore --into postgresql://…` (issue 17): the section names the database restored
// into, with the backed-up PostgreSQL section's tuning kept; a RocksDB config gets one.
TEST_F(GatewaySettingsTest, RestoredIntoPostgresTheConfigNamesTheDatabase) {
  // The same config with a pool size in its [metadata] section.
  std::string tuned = config_;
  tuned.replace(tuned.find("[[node]]"), 0, "pool_size = 7\n");
  Write(dir_ + "/old/gateway.toml", tuned);
  auto settings = ReadGatewaySettings(dir_ + "/old/gateway.toml");
  ASSERT_TRUE(settings.ok()) << settings.status();
  MetadataConfig target;
  target.backend = MetadataConfig::Backend::kPostgres;
  target.postgres.dsn = "postgresql://gw@db.example/restored";
  target.postgres.password_file = "pw/db.password";
  auto written = WriteRestoredConfig(*settings, dir_ + "/new", "/k", target);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_TRUE(written->notes.empty());
  auto config = LoadGatewayConfig(written->path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->metadata.backend, MetadataConfig::Backend::kPostgres);
  EXPECT_EQ(config->metadata.postgres.dsn, target.postgres.dsn);
  EXPECT_EQ(config->metadata.postgres.password_file,
            std::filesystem::absolute("pw/db.password").string());
  EXPECT_EQ(config->metadata.postgres.pool_size, 7);

  Write(dir_ + "/old/gateway.toml",
        config_.substr(0, config_.find("[metadata]")) + config_.substr(config_.find("[[node]]")));
  settings = ReadGatewaySettings(dir_ + "/old/gateway.toml");
  ASSERT_TRUE(settings.ok()) << settings.status();
  target.postgres.password_file.clear();
  written = WriteRestoredConfig(*settings, dir_ + "/new2", "/k", target);
  ASSERT_TRUE(written.ok()) << written.status();
  config = LoadGatewayConfig(written->path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->metadata.backend, MetadataConfig::Backend::kPostgres);
  EXPECT_EQ(config->metadata.postgres.dsn, target.postgres.dsn);
  EXPECT_EQ(config->metadata.postgres.password_file, "");
}

TEST_F(GatewaySettingsTest, SettingsWithoutAFileTheConfigNamesAreRefused) {
  auto settings = ReadGatewaySettings(dir_ + "/old/gateway.toml");
  ASSERT_TRUE(settings.ok()) << settings.status();
  settings->mutable_files()->erase(dir_ + "/old/n1.crt");
  auto written = WriteRestoredConfig(*settings, dir_ + "/new", "/k");
  EXPECT_EQ(written.status().code(), absl::StatusCode::kDataLoss) << written.status();
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/new/gateway.toml"));
  EXPECT_EQ(WriteRestoredConfig(v1::GatewaySettings(), dir_ + "/new", "/k").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(GatewaySettingsTest, SameSettingsIgnoresTheReadTime) {
  auto a = ReadGatewaySettings(dir_ + "/old/gateway.toml");
  ASSERT_TRUE(a.ok());
  v1::GatewaySettings b = *a;
  b.set_read_ms(a->read_ms() + 1000);
  EXPECT_TRUE(SameSettings(*a, b));
  (*b.mutable_files())[dir_ + "/old/s3.crt"] = "renewed";
  EXPECT_FALSE(SameSettings(*a, b));
}

// Nodes added to the running gateway live in its metadata, not in the config file: the
// settings carry them too, so the restored config lists them with their certificate.
TEST_F(GatewaySettingsTest, NodesAddedAtRuntimeAreCarriedAndRestored) {
  auto settings = ReadGatewaySettings(dir_ + "/old/gateway.toml");
  ASSERT_TRUE(settings.ok()) << settings.status();
  client::NodeEndpoint listed;
  listed.spec = {"n2", "p2", "", 1.0};
  listed.address = "127.0.0.1:7999";
  client::NodeEndpoint added;
  added.spec = {"n3", "p3", "attic", 2.0};
  added.address = "127.0.0.1:7003";
  added.token = "secret-3";
  added.tls_ca_pem = node_cert_;
  added.tls_fingerprint = *tls::Fingerprint(node_cert_);
  ASSERT_TRUE(AddRuntimeNodes({listed, added}, *settings).ok());
  auto restored = WriteRestoredConfig(*settings, dir_ + "/new", dir_ + "/kept/master.key");
  ASSERT_TRUE(restored.ok()) << restored.status();
  auto config = LoadGatewayConfig(restored->path);
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->nodes.size(), 3u);
  EXPECT_EQ(config->nodes[1].address, "127.0.0.1:7002");  // the config's entry stays
  const client::NodeEndpoint& n3 = config->nodes[2];
  EXPECT_EQ(n3.spec.id, "n3");
  EXPECT_EQ(n3.spec.provider, "p3");
  EXPECT_EQ(n3.spec.site, "attic");
  EXPECT_EQ(n3.spec.weight, 2.0);
  EXPECT_EQ(n3.token, "secret-3");
  EXPECT_EQ(n3.tls_ca_pem, node_cert_);
  EXPECT_EQ(Read(dir_ + "/new/nodes/n3.crt"), node_cert_);
  EXPECT_EQ(n3.tls_fingerprint, added.tls_fingerprint);
}

}  // namespace
}  // namespace mosaic::gateway
