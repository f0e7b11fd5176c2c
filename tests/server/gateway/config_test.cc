#include "server/gateway/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_replace.h"

namespace mosaic::gateway {
namespace {

constexpr char kCaPem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

class GatewayConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "gateway_config_test.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    ca_file_ = dir_ + "/ca.pem";
    std::ofstream(ca_file_) << kCaPem;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
  std::string ca_file_;
};

constexpr char kMinimal[] = R"(
data_dir = "/d"
key_file = "/k"
[[node]]
id = "n1"
provider = "p1"
address = "127.0.0.1:7400"
token = "t"
plaintext = true
)";

std::string ExampleText() {
  std::ifstream in(std::string(MOSAIC_SOURCE_DIR) + "/deploy/gateway.toml");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_F(GatewayConfigTest, ExampleConfigInDeployParses) {
  std::string text = ExampleText();
  ASSERT_FALSE(text.empty()) << "deploy/gateway.toml is missing";
  // As shipped it names a CA file this machine does not have: NOT_FOUND, naming it.
  auto as_shipped = ParseGatewayConfig(text);
  ASSERT_FALSE(as_shipped.ok());
  EXPECT_EQ(as_shipped.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(as_shipped.status().message().find("/etc/mosaic/node-ca.pem"), std::string::npos);

  auto c = ParseGatewayConfig(absl::StrReplaceAll(text, {{"/etc/mosaic/node-ca.pem", ca_file_}}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listen, "0.0.0.0:9000");
  EXPECT_EQ(c->admin_listen, "127.0.0.1:9001");
  EXPECT_EQ(c->data_dir, "/var/lib/mosaic/gateway");
  EXPECT_EQ(c->key_file, "/etc/mosaic/master.key");
  EXPECT_EQ(c->region, "us-east-1");
  EXPECT_EQ(c->domain, "s3.example.org");
  EXPECT_EQ(c->log_level, "info");
  EXPECT_EQ(c->pipeline.k, 4);
  EXPECT_EQ(c->pipeline.m, 2);
  EXPECT_EQ(c->pipeline.stripe_bytes, uint64_t{4} << 20);
  EXPECT_EQ(c->pipeline.budget_bytes, uint64_t{64} << 20);
  EXPECT_EQ(c->pipeline.worker_threads, 8);
  EXPECT_EQ(c->max_object_bytes, uint64_t{5} << 30);
  EXPECT_EQ(c->http.max_header_bytes, 16u * 1024);
  EXPECT_EQ(c->http.max_connections, 256u);
  EXPECT_EQ(c->http.idle_timeout, std::chrono::seconds(60));
  EXPECT_EQ(c->http.transfer_timeout, std::chrono::seconds(60));
  EXPECT_EQ(c->http.request_timeout, std::chrono::hours(2));
  EXPECT_EQ(c->tls.cert_file, "/etc/mosaic/s3.crt");
  EXPECT_EQ(c->tls.key_file, "/etc/mosaic/s3.key");
  ASSERT_EQ(c->nodes.size(), 2u);
  const client::NodeEndpoint& n1 = c->nodes[0];
  EXPECT_EQ(n1.spec.id, "node-1");
  EXPECT_EQ(n1.spec.provider, "provider-a");
  EXPECT_EQ(n1.spec.site, "paris");
  EXPECT_EQ(n1.spec.weight, 1.0);
  EXPECT_EQ(n1.address, "node-1.example.org:7400");
  EXPECT_EQ(n1.token, "replace-with-the-tenant-token");
  EXPECT_FALSE(n1.plaintext);
  EXPECT_EQ(n1.tls_ca_pem, kCaPem);
  EXPECT_EQ(n1.tls_server_name, "node-1.example.org");
  EXPECT_EQ(c->nodes[1].spec.id, "node-2");
  EXPECT_EQ(c->nodes[1].spec.weight, 2.0);
  EXPECT_EQ(c->nodes[1].tls_server_name, "");
}

TEST_F(GatewayConfigTest, LoadReadsTheFileAndNamesIt) {
  std::string path = dir_ + "/gateway.toml";
  std::ofstream(path) << kMinimal;
  auto c = LoadGatewayConfig(path);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->data_dir, "/d");
  auto missing = LoadGatewayConfig(dir_ + "/nope.toml");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  std::ofstream(path) << "data_dir = 5\n";
  auto bad = LoadGatewayConfig(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(path), std::string::npos) << bad.status();
}

TEST_F(GatewayConfigTest, MinimalConfigTakesDefaults) {
  auto c = ParseGatewayConfig(kMinimal);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listen, "127.0.0.1:9000");
  EXPECT_EQ(c->region, "us-east-1");
  EXPECT_EQ(c->domain, "");
  EXPECT_EQ(c->pipeline.k, 4);
  EXPECT_EQ(c->pipeline.m, 2);
  EXPECT_EQ(c->max_object_bytes, uint64_t{5} << 30);
  EXPECT_EQ(c->repair_stripes_in_flight, 8);
  EXPECT_EQ(c->http.max_connections, 256u);
  ASSERT_EQ(c->nodes.size(), 1u);
  EXPECT_TRUE(c->nodes[0].plaintext);
  EXPECT_EQ(c->nodes[0].spec.weight, 1.0);
  EXPECT_TRUE(c->nodes[0].tls_ca_pem.empty());
}

TEST_F(GatewayConfigTest, MetadataIsRocksDbUnlessPostgresqlIsConfigured) {
  auto c = ParseGatewayConfig(kMinimal);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->metadata.backend, MetadataConfig::Backend::kRocksDb);
  auto pg = ParseGatewayConfig(std::string(kMinimal) + R"(
[metadata]
backend = "postgresql"
dsn = "host=/run/postgresql dbname=mosaic"
password_file = "/etc/mosaic/db-password"
pool_size = 4
statement_timeout = "1s"
)");
  ASSERT_TRUE(pg.ok()) << pg.status();
  EXPECT_EQ(pg->metadata.backend, MetadataConfig::Backend::kPostgres);
  EXPECT_EQ(pg->metadata.postgres.dsn, "host=/run/postgresql dbname=mosaic");
  EXPECT_EQ(pg->metadata.postgres.password_file, "/etc/mosaic/db-password");
  EXPECT_EQ(pg->metadata.postgres.pool_size, 4);
  EXPECT_EQ(pg->metadata.postgres.statement_timeout, std::chrono::seconds(1));
  for (const char* bad :
       {"backend = \"postgresql\"\n", "dsn = \"host=/x\"\n", "backend = \"mysql\"\n",
        "backend = \"postgresql\"\ndsn = \"x\"\npool_size = 0\n",
        "backend = \"postgresql\"\ndsn = \"x\"\nhost = \"y\"\n"}) {
    auto refused = ParseGatewayConfig(std::string(kMinimal) + "[metadata]\n" + bad);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(refused.status().message().find("metadata"), std::string::npos) << refused.status();
  }
}

TEST_F(GatewayConfigTest, S3TlsKeysGoTogether) {
  EXPECT_FALSE(ParseGatewayConfig(kMinimal)->tls.enabled());
  auto both =
      ParseGatewayConfig("tls_cert_file = \"/c\"\ntls_key_file = \"/k\"\n" + std::string(kMinimal));
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_TRUE(both->tls.enabled());
  for (const char* one : {"tls_cert_file = \"/c\"\n", "tls_key_file = \"/k\"\n"}) {
    auto c = ParseGatewayConfig(one + std::string(kMinimal));
    ASSERT_FALSE(c.ok()) << one;
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(c.status().message().find("tls_cert_file"), std::string::npos) << c.status();
    EXPECT_NE(c.status().message().find("tls_key_file"), std::string::npos) << c.status();
  }
}

TEST_F(GatewayConfigTest, NumbersAndUnits) {
  auto c = ParseGatewayConfig(R"(
data_dir = "/d"
key_file = "/k"
[erasure]
k = 10
m = 4
stripe_size = 65536
[pipeline]
budget = "1GiB"
workers = 1
[limits]
max_object_size = 1048576
max_header_size = "8KiB"
max_connections = 1
max_open_connections = 10
max_connections_per_address = 3
head_timeout = "2s"
idle_timeout = "250ms"
transfer_timeout = "2m"
[[node]]
id = "n1"
provider = "p1"
address = "a:1"
token = "t"
plaintext = true
weight = 0.5
)");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->pipeline.k, 10);
  EXPECT_EQ(c->pipeline.m, 4);
  EXPECT_EQ(c->pipeline.stripe_bytes, 65536u);
  EXPECT_EQ(c->pipeline.budget_bytes, uint64_t{1} << 30);
  EXPECT_EQ(c->pipeline.worker_threads, 1);
  EXPECT_EQ(c->max_object_bytes, 1048576u);
  EXPECT_EQ(c->http.max_header_bytes, 8192u);
  EXPECT_EQ(c->http.max_connections, 1u);
  EXPECT_EQ(c->http.max_open_connections, 10u);
  EXPECT_EQ(c->http.max_connections_per_address, 3u);
  EXPECT_EQ(c->http.head_timeout, std::chrono::seconds(2));
  EXPECT_EQ(c->http.idle_timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(c->http.transfer_timeout, std::chrono::minutes(2));
  EXPECT_EQ(c->nodes[0].spec.weight, 0.5);
}

// Expects `toml` to be refused with INVALID_ARGUMENT whose message names `key`.
void ExpectRefused(const std::string& toml, const std::string& key) {
  auto c = ParseGatewayConfig(toml);
  ASSERT_FALSE(c.ok()) << "accepted:\n" << toml;
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << c.status();
  EXPECT_NE(c.status().message().find(key), std::string::npos)
      << "\"" << c.status().message() << "\" does not name " << key;
}

constexpr char kHead[] = "data_dir = \"/d\"\nkey_file = \"/k\"\n";
constexpr char kNode[] =
    "[[node]]\nid = \"n1\"\nprovider = \"p1\"\naddress = \"a:1\"\ntoken = \"t\"\nplaintext = "
    "true\n";

TEST_F(GatewayConfigTest, RequiredKeys) {
  ExpectRefused(std::string("key_file = \"/k\"\n") + kNode, "data_dir");
  ExpectRefused(std::string("data_dir = \"/d\"\n") + kNode, "key_file");
  ExpectRefused(kHead, "node");
}

TEST_F(GatewayConfigTest, WrongTypesNameTheKey) {
  for (const char* key : {"listen", "admin_listen", "region", "domain", "log_level"}) {
    ExpectRefused(std::string(kHead) + key + " = 5\n" + kNode, key);
  }
  ExpectRefused(std::string("data_dir = 5\nkey_file = \"/k\"\n") + kNode, "data_dir");
  ExpectRefused(std::string(kHead) + "[erasure]\nk = \"four\"\n" + kNode, "erasure.k");
  ExpectRefused(std::string(kHead) + "[pipeline]\nworkers = 1.5\n" + kNode, "pipeline.workers");
  ExpectRefused(std::string(kHead) + "[limits]\nidle_timeout = 60\n" + kNode,
                "limits.idle_timeout");
}

TEST_F(GatewayConfigTest, OutOfRangeValuesNameTheKey) {
  auto with = [](const std::string& section) { return std::string(kHead) + section + kNode; };
  ExpectRefused(with("[erasure]\nk = 0\n"), "erasure");
  ExpectRefused(with("[erasure]\nm = -1\n"), "erasure");
  ExpectRefused(with("[erasure]\nk = 30\nm = 3\n"), "erasure");
  ExpectRefused(with("[erasure]\nstripe_size = \"1KiB\"\n"), "erasure.stripe_size");
  ExpectRefused(with("[erasure]\nstripe_size = \"128MiB\"\n"), "erasure.stripe_size");
  ExpectRefused(with("[erasure]\nstripe_size = \"big\"\n"), "erasure.stripe_size");
  ExpectRefused(with("[pipeline]\nworkers = 0\n"), "pipeline.workers");
  ExpectRefused(with("[pipeline]\nworkers = 257\n"), "pipeline.workers");
  ExpectRefused(with("[pipeline]\nbudget = \"lots\"\n"), "pipeline.budget");
  ExpectRefused(with("[limits]\nmax_connections = 0\n"), "limits.max_connections");
  ExpectRefused(with("[limits]\nmax_connections_per_address = 0\n"),
                "limits.max_connections_per_address");
  ExpectRefused(with("[limits]\nmax_object_size = -1\n"), "limits.max_object_size");
  ExpectRefused(with("[limits]\nidle_timeout = \"soon\"\n"), "limits.idle_timeout");
  ExpectRefused(with("[limits]\ntransfer_timeout = \"-5s\"\n"), "limits.transfer_timeout");
  ExpectRefused(with("[limits]\nmax_header_size = 0\n"), "limits.max_header_size");
  ExpectRefused(with("[limits]\nmax_header_size = \"8GiB\"\n"), "limits.max_header_size");
  ExpectRefused(with("repair_stripes_in_flight = 0\n"), "repair_stripes_in_flight");
  ExpectRefused(with("repair_stripes_in_flight = 65\n"), "repair_stripes_in_flight");
  auto sixteen = ParseGatewayConfig(with("repair_stripes_in_flight = 16\n"));
  ASSERT_TRUE(sixteen.ok()) << sixteen.status();
  EXPECT_EQ(sixteen->repair_stripes_in_flight, 16);
}

TEST_F(GatewayConfigTest, SectionsMustBeTables) {
  ExpectRefused(std::string(kHead) + "erasure = 3\n" + kNode, "erasure");
  ExpectRefused(std::string(kHead) + "limits = \"none\"\n" + kNode, "limits");
  ExpectRefused(std::string(kHead) + "node = \"n1\"\n", "node");
  ExpectRefused(std::string(kHead) + "node = [1, 2]\n", "node");
}

TEST_F(GatewayConfigTest, UnknownKeysAreRefused) {
  ExpectRefused(std::string(kHead) + "listen_address = \"0.0.0.0:1\"\n" + kNode, "listen_address");
  ExpectRefused(std::string(kHead) + "[limits]\nmax_object_bytes = 5\n" + kNode,
                "limits.max_object_bytes");
  ExpectRefused(std::string(kHead) + "[limts]\nmax_connections = 5\n" + kNode, "limts");
  ExpectRefused(std::string(kHead) + kNode + "tls_ca = \"/x\"\n", "tls_ca");
}

TEST_F(GatewayConfigTest, NodeErrorsNameTheNode) {
  const std::string node = "[[node]]\nid = \"n7\"\nprovider = \"p\"\naddress = \"a:1\"\n";
  ExpectRefused(kHead + node + "plaintext = true\n", "n7");  // no token
  ExpectRefused(kHead + node + "token = \"t\"\nplaintext = true\nweight = 0\n", "n7.weight");
  ExpectRefused(kHead + node + "token = \"t\"\nplaintext = true\nweight = -2.5\n", "n7.weight");
  ExpectRefused(kHead + node + "token = \"t\"\nplaintext = true\nweight = \"x\"\n", "weight");
  ExpectRefused(kHead + node + "token = \"t\"\n", "tls_ca_file");
  ExpectRefused(kHead + node + "token = \"t\"\nplaintext = \"yes\"\n", "plaintext");
  ExpectRefused(std::string(kHead) +
                    "[[node]]\nprovider = \"p\"\naddress = \"a:1\"\ntoken = \"t\"\n"
                    "plaintext = true\n",
                "id");
  ExpectRefused(kHead + node + "token = \"t\"\nplaintext = true\n" + node +
                    "token = \"u\"\nplaintext = true\n",
                "duplicate");
}

TEST_F(GatewayConfigTest, NodeWithTlsReadsItsCaFile) {
  std::string node = "[[node]]\nid = \"n1\"\nprovider = \"p\"\naddress = \"a:1\"\ntoken = \"t\"\n";
  auto c = ParseGatewayConfig(kHead + node + "tls_ca_file = \"" + ca_file_ + "\"\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->nodes[0].tls_ca_pem, kCaPem);
  auto missing = ParseGatewayConfig(kHead + node + "tls_ca_file = \"" + dir_ + "/none.pem\"\n");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(GatewayConfigTest, SyntaxErrorsSayWhere) {
  auto c = ParseGatewayConfig("data_dir = \"/d\"\nkey_file = \n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("line 2"), std::string::npos) << c.status();
}

}  // namespace
}  // namespace mosaic::gateway
