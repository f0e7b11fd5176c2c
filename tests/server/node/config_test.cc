#include "server/node/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "server/node/tenants.h"

namespace mosaic::node {
namespace {

constexpr char kHash[] = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8";

TEST(NodeConfigTest, ExampleConfigInDeployParses) {
  std::ifstream in(std::string(MOSAIC_SOURCE_DIR) + "/deploy/node.toml");
  ASSERT_TRUE(in) << "deploy/node.toml is missing";
  std::stringstream text;
  text << in.rdbuf();
  auto c = ParseNodeConfig(text.str());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->node_id, "node-1");
  EXPECT_EQ(c->store.dir, "/var/lib/mosaic/node");
  EXPECT_EQ(c->store.max_chunk_bytes, 8u << 20);
  EXPECT_EQ(c->store.segment_size_bytes, 256u << 20);
  EXPECT_EQ(c->store.scrub_bytes_per_second, 32u << 20);
  EXPECT_EQ(c->store.scrub_interval, std::chrono::hours(24));
  ASSERT_EQ(c->tenants.size(), 1u);
  EXPECT_EQ(c->tenants[0].quota_bytes, uint64_t{1} << 40);
  EXPECT_FALSE(c->tls_cert.empty());
}

TEST(NodeConfigTest, MinimalPlaintextConfig) {
  auto c = ParseNodeConfig("data_dir = \"/d\"\n[tls]\nplaintext = true\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->plaintext);
  EXPECT_TRUE(c->tenants.empty());
}

TEST(NodeConfigTest, RefusesWhatItCannotServeSafely) {
  struct Case {
    const char* toml;
    const char* mentions;
  };
  const std::string tls = "[tls]\nplaintext = true\n";
  for (const Case& c : std::initializer_list<Case>{
           {"[tls]\nplaintext = true\n", "data_dir"},
           {"data_dir = \"/d\"\n", "tls"},
           {"data_dir = \"/d\"\n[tls]\ncert = \"/c\"\n", "tls"},
           {"data_dir = \"/d\"\nmax_chunk_size = \"lots\"\n[tls]\nplaintext = true\n",
            "max_chunk_size"},
           {"data_dir = \"/d\"\nmax_chunk_size = \"1GiB\"\n[tls]\nplaintext = true\n",
            "max_chunk_size"},
           {"data_dir = 7\n[tls]\nplaintext = true\n", "data_dir"},
           {"data_dir = \"/d\"\n[tls]\nplaintext = \"yes\"\n", "plaintext"},
           {"data_dir = \"/d\"\n[tls]\nplaintext = true\n[storage]\ncompact_below = 2.0\n",
            "compact_below"},
           {"data_dir = \"/d\"\n[tls]\nplaintext = true\n[storage]\nsegment_size = 100\n",
            "segment_size"},
           {"data_dir = \"/d\"\n[tls]\nplaintext = true\n[scrub]\ninterval = \"often\"\n",
            "interval"},
           {"data_dir = \"/d\"\n[tls]\nplaintext = true\n[[tenant]]\nname = \"a\"\n"
            "token_sha256 = \"abc\"\n",
            "token_sha256"},
           {"data_dir = \"/d\"\n[tls]\nplaintext = true\n[[tenant]]\nname = \"\"\n"
            "token_sha256 = \"5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8\"\n",
            "name"},
           {"data_dir = \"/d\"\n[tls]\nplaintext = true\n"
            "[[tenant]]\nname = \"a\"\ntoken_sha256 = "
            "\"5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8\"\n"
            "[[tenant]]\nname = \"b\"\ntoken_sha256 = "
            "\"5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8\"\n",
            "token shared"},
           {"data_dir = \"/d\"\n[tls\nplaintext = true\n", "config"},
           {"data_dir = \"/d\"\n[tls]\nplaintext = true\n[storage]\nio_engine = \"aio\"\n",
            "io_engine"},
           {"data_dir = \"/d\"\n[tls]\nplaintext = true\n[[tenant]]\nname = \"a\"\n"
            "token_sha256 = \"5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8\"\n"
            "max_chunks = -1\n",
            "max_chunks"},
           {"data_dir = \"/d\"\nlisten_address = \"0.0.0.0:1\"\n[tls]\nplaintext = true\n",
            "listen_address"},
       }) {
    auto parsed = ParseNodeConfig(c.toml);
    ASSERT_FALSE(parsed.ok()) << c.toml;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << c.toml;
    EXPECT_NE(parsed.status().message().find(c.mentions), absl::string_view::npos)
        << parsed.status() << " should mention " << c.mentions;
  }
}

TEST(NodeConfigTest, IoEngineAndChunkCountLimit) {
  auto defaults = ParseNodeConfig(
      "data_dir = \"/d\"\n[tls]\nplaintext = true\n[[tenant]]\nname = \"a\"\n"
      "token_sha256 = \"" +
      std::string(kHash) + "\"\n");
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->io_engine, io::IoEngine::kAuto);
  EXPECT_EQ(defaults->tenants[0].max_chunks, kDefaultMaxChunksPerTenant);
  auto set = ParseNodeConfig(
      "data_dir = \"/d\"\n[tls]\nplaintext = true\n[storage]\nio_engine = \"posix\"\n"
      "[[tenant]]\nname = \"a\"\ntoken_sha256 = \"" +
      std::string(kHash) + "\"\nmax_chunks = 5000\n");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->io_engine, io::IoEngine::kPosix);
  EXPECT_EQ(set->tenants[0].max_chunks, 5000u);
}

TEST(NodeConfigTest, MissingFileIsNotFound) {
  EXPECT_EQ(LoadNodeConfig("/nonexistent/node.toml").status().code(), absl::StatusCode::kNotFound);
}

TEST(TenantRegistryTest, AuthenticatesByTokenHashOnly) {
  TenantRegistry tenants({{"group-a", kHash, 100}});
  auto t = tenants.Authenticate("Bearer password");  // sha256("password") == kHash
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->name, "group-a");
  EXPECT_EQ((*t)->quota_bytes, 100u);
  for (const char* bad : {"", "Bearer ", "Bearer passwore", "password",
                          "Basic cGFzc3dvcmQ=", "bearer password", "Bearer password "}) {
    EXPECT_EQ(tenants.Authenticate(bad).status().code(), absl::StatusCode::kUnauthenticated) << bad;
  }
}

TEST(TenantRegistryTest, ReplaceServesTheNewTenantsAndKeepsOldPointersValid) {
  TenantRegistry tenants({{"group-a", kHash, 100}});
  auto before = tenants.Authenticate("Bearer password");
  ASSERT_TRUE(before.ok()) << before.status();
  // sha256("other"), as `mosaic node tenant add` appends it and SIGHUP reloads it.
  const std::string other = "d9298a10d1b0735837dc4bd85dac641b0f3cef27a47e5d53a54f2f3f5b2fcffa";
  tenants.Replace({{"group-b", other, 5}});
  EXPECT_EQ(tenants.Authenticate("Bearer password").status().code(),
            absl::StatusCode::kUnauthenticated);
  auto after = tenants.Authenticate("Bearer other");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ((*after)->name, "group-b");
  EXPECT_EQ((*before)->name, "group-a");  // a call in flight still reads its tenant
}

TEST(NodeConfigTest, UnknownKeyInASectionIsNamed) {
  std::string base = "data_dir = \"/d\"\n[tls]\nplaintext = true\n";
  for (const auto& [extra, key] : {std::pair{"ciphers = 1\n", "tls.ciphers"},
                                   std::pair{"[storage]\nsegment = 1\n", "storage.segment"},
                                   std::pair{"[scrub]\nspeed = 1\n", "scrub.speed"}}) {
    auto c = ParseNodeConfig(base + extra);
    ASSERT_FALSE(c.ok()) << extra;
    EXPECT_NE(c.status().message().find(key), std::string::npos) << c.status();
  }
}

}  // namespace
}  // namespace mosaic::node
