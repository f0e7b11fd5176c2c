// Grants limited to a key prefix (issue 15): what a principal holding them may do
// (Principal::Covers and the checks built on it), and how the console stores them.

#include <gtest/gtest.h>

#include "server/gateway/s3/handler.h"

namespace mosaic::gateway {
namespace {

v1::Grant G(const std::string& bucket, v1::Grant::Right right, const std::string& prefix = "") {
  v1::Grant g;
  g.set_bucket(bucket);
  g.set_right(right);
  g.set_prefix(prefix);
  return g;
}

TEST(PrefixGrantTest, APrefixGrantAllowsKeysUnderItOnly) {
  Principal p{"k", {G("press", v1::Grant::WRITE, "album/")}};
  EXPECT_TRUE(p.AllowsKey("press", "album/cover.jpg", v1::Grant::WRITE));
  EXPECT_TRUE(p.AllowsKey("press", "album/day 2/notes.txt", v1::Grant::READ));
  EXPECT_FALSE(p.AllowsKey("press", "album/cover.jpg", v1::Grant::OWNER));
  EXPECT_FALSE(p.AllowsKey("press", "albums/cover.jpg", v1::Grant::READ));
  EXPECT_FALSE(p.AllowsKey("press", "other/cover.jpg", v1::Grant::READ));
  EXPECT_FALSE(p.AllowsKey("press", "album", v1::Grant::READ));
  EXPECT_FALSE(p.AllowsKey("legal", "album/cover.jpg", v1::Grant::READ));
}

TEST(PrefixGrantTest, APrefixGrantGivesNoWholeBucketRightButListsTheBucket) {
  Principal p{"k", {G("press", v1::Grant::OWNER, "album/")}};
  EXPECT_FALSE(p.Allows("press", v1::Grant::READ));
  EXPECT_FALSE(p.Allows("press", v1::Grant::OWNER));
  EXPECT_TRUE(p.HasAnyGrantOn("press"));
  EXPECT_FALSE(p.HasAnyGrantOn("legal"));
}

TEST(PrefixGrantTest, WholeBucketAndStarGrantsCoverEveryPrefix) {
  Principal whole{"k", {G("press", v1::Grant::READ)}};
  EXPECT_TRUE(whole.Allows("press", v1::Grant::READ));
  EXPECT_TRUE(whole.Covers(G("press", v1::Grant::READ, "album/")));
  EXPECT_FALSE(whole.Covers(G("press", v1::Grant::WRITE, "album/")));
  Principal star{"k", {G("*", v1::Grant::WRITE, "inbox/")}};
  EXPECT_TRUE(star.AllowsKey("anything", "inbox/x", v1::Grant::WRITE));
  EXPECT_FALSE(star.AllowsKey("anything", "x", v1::Grant::READ));
}

TEST(PrefixGrantTest, AKeyGrantIsCoveredOnlyByAGrantAsWideAsIt) {
  // A member's key is cut to what the member holds: a key for the whole bucket is not covered
  // by the member's folder, one for the folder (or deeper) is.
  Principal member{"", {G("press", v1::Grant::WRITE, "album/")}};
  EXPECT_FALSE(member.Covers(G("press", v1::Grant::READ)));
  EXPECT_TRUE(member.Covers(G("press", v1::Grant::READ, "album/")));
  EXPECT_TRUE(member.Covers(G("press", v1::Grant::WRITE, "album/day 2/")));
  EXPECT_FALSE(member.Covers(G("*", v1::Grant::READ, "album/")));
}

}  // namespace
}  // namespace mosaic::gateway
