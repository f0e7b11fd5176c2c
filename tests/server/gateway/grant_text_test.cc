#include "server/gateway/grant_text.h"

#include <gtest/gtest.h>

namespace mosaic::gateway {
namespace {

TEST(GrantTextTest, RightNamesReadBackAsTheSameRight) {
  for (auto right :
       {v1::Grant::READ, v1::Grant::WRITE, v1::Grant::OWNER, v1::Grant::RIGHT_UNSPECIFIED}) {
    auto parsed = ParseRight(RightName(right));
    ASSERT_TRUE(parsed.ok()) << RightName(right);
    EXPECT_EQ(*parsed, right);
  }
  EXPECT_STREQ(RightName(v1::Grant::WRITE), "write");
  EXPECT_STREQ(RightName(v1::Grant::RIGHT_UNSPECIFIED), "none");
  EXPECT_EQ(ParseRight("admin").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(GrantTextTest, ParsesBucketColonRightAndRefusesNone) {
  auto g = ParseGrant("press:photos:owner");  // the last colon separates the right
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->bucket(), "press:photos");
  EXPECT_EQ(g->right(), v1::Grant::OWNER);
  EXPECT_EQ(ParseGrant("press:none").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseGrant(":read").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseGrant("press").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(GrantTextTest, ASlashLimitsAGrantToAPrefix) {
  auto g = ParseGrant("press/archive/2026:write");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->bucket(), "press");
  EXPECT_EQ(g->prefix(), "archive/2026");
  EXPECT_EQ(g->right(), v1::Grant::WRITE);
  EXPECT_EQ(GrantText(*g), "press/archive/2026:write");
  auto whole = ParseGrant("press:read");
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->prefix(), "");
  EXPECT_EQ(GrantTarget(*whole), "press");
  auto target = ParseGrantTarget("press/a:b/");  // the first slash ends the bucket
  ASSERT_TRUE(target.ok());
  EXPECT_EQ(target->bucket(), "press");
  EXPECT_EQ(target->prefix(), "a:b/");
  EXPECT_EQ(ParseGrant("/archive/:read").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseGrantTarget("/x").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mosaic::gateway
