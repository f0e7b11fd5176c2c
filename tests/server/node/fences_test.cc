// The node's fences (issue 20): the highest generation per tenant, kept across restarts; an
// older generation's writes are refused naming both, a newer one is recorded first.
#include "server/node/fences.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace mosaic::node {
namespace {

class FenceStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/mosaic-fences-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<FenceStore> Open() {
    auto store = FenceStore::Open(dir_);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }
  std::string dir_;
};

TEST_F(FenceStoreTest, OlderGenerationIsRefusedNamingBothAndNewerIsKeptAcrossRestarts) {
  auto fences = Open();
  ASSERT_NE(fences, nullptr);
  EXPECT_TRUE(fences->Admit("group", 0).ok()) << "nothing fenced yet";
  EXPECT_EQ(fences->Highest("group"), 0u);
  EXPECT_TRUE(fences->Admit("group", 3).ok());  // a newer generation is recorded
  EXPECT_EQ(fences->Highest("group"), 3u);
  absl::Status old = fences->Admit("group", 2);
  EXPECT_EQ(old.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(old.message().find("generation 2 is fenced off: generation 3"), std::string::npos)
      << old;
  EXPECT_FALSE(fences->Admit("group", 0).ok()) << "a gateway without generation is older";
  EXPECT_TRUE(fences->Admit("other", 1).ok()) << "tenants are fenced apart";

  fences = Open();  // restarted
  ASSERT_NE(fences, nullptr);
  EXPECT_EQ(fences->Highest("group"), 3u);
  EXPECT_EQ(fences->Highest("other"), 1u);
  EXPECT_FALSE(fences->Admit("group", 2).ok());
  EXPECT_TRUE(fences->Admit("group", 3).ok());
}

TEST_F(FenceStoreTest, RaiseNeverLowersAndZeroOnlyAsks) {
  auto fences = Open();
  ASSERT_NE(fences, nullptr);
  EXPECT_EQ(*fences->Raise("group", 5), 5u);
  EXPECT_EQ(*fences->Raise("group", 4), 5u);
  EXPECT_EQ(*fences->Raise("group", 0), 5u);
  EXPECT_EQ(*fences->Raise("new", 0), 0u);
  EXPECT_FALSE(fences->Raise("two words", 1).ok());
  EXPECT_EQ(Open()->Highest("group"), 5u);
}

TEST_F(FenceStoreTest, DamagedFileIsDataLoss) {
  std::ofstream(dir_ + "/fences") << "3 group\nnot a line\n";
  EXPECT_EQ(FenceStore::Open(dir_).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace mosaic::node
