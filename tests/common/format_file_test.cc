#include "common/format_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace mosaic {
namespace {

namespace fs = std::filesystem;

class FormatFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("mosaic-format-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Read() {
    std::ifstream in(dir_ / "FORMAT");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  void Write(const std::string& text) { std::ofstream(dir_ / "FORMAT") << text; }

  fs::path dir_;
};

TEST_F(FormatFileTest, MissingFileIsWrittenWithThisVersion) {
  ASSERT_TRUE(CheckFormatFile(dir_.string(), "node index", 1).ok());
  EXPECT_EQ(Read(), "mosaic-format: node index 1\n");
  EXPECT_TRUE(CheckFormatFile(dir_.string(), "node index", 1).ok());
}

TEST_F(FormatFileTest, OlderOrSameVersionOpens) {
  fs::create_directories(dir_);
  Write("mosaic-format: node index 1\n");
  EXPECT_TRUE(CheckFormatFile(dir_.string(), "node index", 2).ok());
  EXPECT_EQ(Read(), "mosaic-format: node index 1\n");  // not rewritten: no migration here
}

TEST_F(FormatFileTest, NewerVersionIsRefusedNamingBoth) {
  fs::create_directories(dir_);
  Write("mosaic-format: gateway metadata 3\n");
  absl::Status s = CheckFormatFile(dir_.string(), "gateway metadata", 1);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("gateway metadata format version 3: this mosaic reads version 1"),
            std::string::npos)
      << s;
}

TEST_F(FormatFileTest, AnotherKindOfFolderIsRefused) {
  fs::create_directories(dir_);
  Write("mosaic-format: node index 1\n");
  EXPECT_EQ(CheckFormatFile(dir_.string(), "gateway metadata", 1).code(),
            absl::StatusCode::kInvalidArgument);
  Write("garbage");
  EXPECT_EQ(CheckFormatFile(dir_.string(), "node index", 1).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mosaic
