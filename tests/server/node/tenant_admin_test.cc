#include "server/node/tenant_admin.h"

#include <gtest/gtest.h>

namespace mosaic::node {
namespace {

constexpr char kHashA[] = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8";
constexpr char kHashB[] = "6b107fa5167053410aa6b4beedb0b5fc6a5b7866f25fb1b7a296f97713ef84e4";

std::string Config() {
  return std::string(
             "# the provider's own comment\n"
             "data_dir = \"/tmp/n\"\n"
             "[tls]\nplaintext = true\n\n"
             "[[tenant]]\nname = \"alpha\"\ntoken_sha256 = \"") +
         kHashA +
         "\"\nquota   =  \"1GiB\"  # raised in May\n\n"
         "  [[ tenant ]]\nname = \"beta\"\ntoken_sha256 = \"" +
         kHashB + "\"\n\n[scrub]\nrate = \"8MiB\"\n";
}

TEST(TenantAdminTest, SetQuotaReplacesOnlyThatTenantsQuotaLine) {
  auto out = SetTenantQuotaInToml(Config(), "alpha", "2TiB");
  ASSERT_TRUE(out.ok()) << out.status();
  auto c = ParseNodeConfig(*out);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->tenants[0].quota_bytes, uint64_t{2} << 40);
  EXPECT_EQ(c->tenants[1].quota_bytes, 0u);
  EXPECT_NE(out->find("# the provider's own comment"), std::string::npos);
  EXPECT_NE(out->find("quota = \"2TiB\"\n"), std::string::npos);
  EXPECT_EQ(out->find("raised in May"), std::string::npos);
  EXPECT_EQ(c->store.scrub_bytes_per_second, 8u << 20);
}

TEST(TenantAdminTest, SetQuotaAddsTheLineWhenTheTenantHadNone) {
  auto out = SetTenantQuotaInToml(Config(), "beta", "5MiB");
  ASSERT_TRUE(out.ok()) << out.status();
  auto c = ParseNodeConfig(*out);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->tenants[0].quota_bytes, uint64_t{1} << 30);
  EXPECT_EQ(c->tenants[1].quota_bytes, 5u << 20);
}

TEST(TenantAdminTest, SetQuotaRefusesUnknownTenantsAndBadSizes) {
  EXPECT_EQ(SetTenantQuotaInToml(Config(), "gamma", "1GiB").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(SetTenantQuotaInToml(Config(), "alpha", "lots").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TenantAdminTest, RemoveDropsOnlyThatTenantsTable) {
  auto out = RemoveTenantFromToml(Config(), "alpha");
  ASSERT_TRUE(out.ok()) << out.status();
  auto c = ParseNodeConfig(*out);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->tenants.size(), 1u);
  EXPECT_EQ(c->tenants[0].name, "beta");
  EXPECT_EQ(out->find(kHashA), std::string::npos);
  EXPECT_TRUE(c->plaintext);
  auto last = RemoveTenantFromToml(Config(), "beta");
  ASSERT_TRUE(last.ok()) << last.status();
  c = ParseNodeConfig(*last);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->tenants.size(), 1u);
  EXPECT_EQ(c->store.scrub_bytes_per_second, 8u << 20);  // [scrub] after it stays
  EXPECT_EQ(RemoveTenantFromToml(Config(), "gamma").status().code(), absl::StatusCode::kNotFound);
}

TEST(TenantAdminTest, QuotasOverTheDiskAreNamedUnlimitedOnesAreNot) {
  std::vector<TenantConfig> tenants{{"a", kHashA, 600, 0}, {"b", kHashB, 500, 0}};
  auto warning = QuotasOverDisk(tenants, 1000);
  ASSERT_TRUE(warning.has_value());
  EXPECT_NE(warning->find("1.1 KiB"), std::string::npos) << *warning;
  EXPECT_FALSE(QuotasOverDisk(tenants, 1100).has_value());
  tenants[1].quota_bytes = 0;
  EXPECT_FALSE(QuotasOverDisk(tenants, 1000).has_value());
}

}  // namespace
}  // namespace mosaic::node
