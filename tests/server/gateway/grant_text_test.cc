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

}  // namespace
}  // namespace mosaic::gateway
