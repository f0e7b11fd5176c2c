// The backup's settings and status: backup_lag, `mosaic restore --nodes`, the status document.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "server/gateway/backup/restore.h"
#include "server/gateway/config.h"
#include "server/gateway/job_views.h"
#include "server/gateway/status.h"

namespace mosaic::gateway {
namespace {

constexpr char kNodes[] = R"(
[[node]]
id = "n1"
provider = "p1"
address = "127.0.0.1:1"
token = "t"
plaintext = true
)";

TEST(BackupSettingsTest, BackupLagDefaultsToAMinuteAndMustBePositive) {
  std::string base = std::string("data_dir = \"/d\"\nkey_file = \"/k\"\n") + kNodes;
  auto c = ParseGatewayConfig(base);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->backup_lag, std::chrono::seconds(60));
  c = ParseGatewayConfig("backup_lag = \"5s\"\n" + base);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->backup_lag, std::chrono::seconds(5));
  EXPECT_EQ(ParseGatewayConfig("backup_lag = \"0s\"\n" + base).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(BackupSettingsTest, RestoreSummaryAdvisesOnNodesMissingFromTheList) {
  RestoreReport report;
  EXPECT_EQ(RestoreSummary(report).find("what to do"), std::string::npos);
  report.nodes_not_listed.push_back("coop-f-1 (provider coop-f, 10.0.0.6:7000)");
  const std::string summary = RestoreSummary(report);
  EXPECT_NE(summary.find("node coop-f-1 (provider coop-f, 10.0.0.6:7000) was in the backed-up "
                         "gateway's node list but not in --nodes"),
            std::string::npos)
      << summary;
  EXPECT_NE(summary.find("add their [[node]] tables"), std::string::npos) << summary;
  EXPECT_NE(summary.find("mosaic scrub --config FILE --wait"), std::string::npos) << summary;
}

TEST(BackupSettingsTest, NodeListReadsNodesOnlyAndIgnoresOtherKeys) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "nodes_test.XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  std::ofstream(tmpl + "/nodes.toml") << kNodes;
  std::ofstream(tmpl + "/gateway.toml") << "data_dir = \"/d\"\nlisten = \"x\"\n" << kNodes;
  std::ofstream(tmpl + "/empty.toml") << "data_dir = \"/d\"\n";
  std::ofstream(tmpl + "/bad.toml") << "[[node]]\nid = \"n1\"\n";
  for (const char* name : {"nodes.toml", "gateway.toml"}) {
    auto nodes = LoadNodeList(tmpl + "/" + name);
    ASSERT_TRUE(nodes.ok()) << nodes.status();
    ASSERT_EQ(nodes->size(), 1u);
    EXPECT_EQ((*nodes)[0].spec.id, "n1");
    EXPECT_EQ((*nodes)[0].address, "127.0.0.1:1");
  }
  EXPECT_EQ(LoadNodeList(tmpl + "/empty.toml").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LoadNodeList(tmpl + "/bad.toml").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LoadNodeList(tmpl + "/missing.toml").status().code(), absl::StatusCode::kNotFound);
  std::filesystem::remove_all(tmpl);
}

TEST(BackupSettingsTest, StatusCarriesTheBackupLagBothWays) {
  MetadataBackup::Progress progress;
  EXPECT_FALSE(BackupViewFromJob(progress, 5000).lag_seconds.has_value());
  progress.last_success_ms = 1795000000000;
  progress.covered_ms = 1795000000000 - 500;
  progress.generation = 12;
  progress.last_error = "UNAVAILABLE: too few nodes";
  StatusDocument doc;
  doc.backup = BackupViewFromJob(progress, 1795000000000 + 2500);
  ASSERT_TRUE(doc.backup->lag_seconds.has_value());
  EXPECT_DOUBLE_EQ(*doc.backup->lag_seconds, 3.0);
  auto back = ParseStatusJson(StatusJson(doc));
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_TRUE(back->backup.has_value());
  EXPECT_EQ(back->backup->covered_ms, progress.covered_ms);
  EXPECT_EQ(back->backup->generation, 12u);
  EXPECT_EQ(back->backup->last_error, progress.last_error);
  std::string text = StatusText(*back, progress.last_success_ms);
  EXPECT_NE(text.find("Backup:    lag 3s"), std::string::npos) << text;
  EXPECT_NE(text.find("FAILED: UNAVAILABLE"), std::string::npos) << text;
  // A gateway without the job: null, and no line.
  auto none = ParseStatusJson(StatusJson(StatusDocument()));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->backup.has_value());
  EXPECT_EQ(StatusText(*none, 0).find("Backup:"), std::string::npos);
}

}  // namespace
}  // namespace mosaic::gateway
