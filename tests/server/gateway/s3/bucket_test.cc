#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server/gateway/s3/handler.h"

namespace mosaic::gateway {
namespace {

TEST(ValidBucketNameTest, AcceptsS3Names) {
  for (const std::string& name : std::vector<std::string>{
           "abc", "a-b", "a.b.c", "123", "my-bucket.example.org", "0a0", "a1-2.b3",
           std::string(63, 'a'), "1.2.3", "1.2.3.4.5", "xn-abc", "bucket-s3alia"}) {
    EXPECT_TRUE(ValidBucketName(name)) << name;
  }
}

TEST(ValidBucketNameTest, RejectsWhatS3Rejects) {
  for (const std::string& name : std::vector<std::string>{
           "",
           "ab",                  // too short
           std::string(64, 'a'),  // too long
           "ABC",
           "aBc",  // upper case
           "a_b",
           "a b",
           "a/b",
           "a:b",
           "caf\xC3\xA9",
           std::string("a\0b", 3),
           "-ab",
           "ab-",
           ".ab",
           "ab.",   // must start and end with a letter or digit
           "a..b",  // adjacent periods
           "a.-b",
           "a-.b",  // labels must start and end with a letter or digit
           "192.168.1.1",
           "0.0.0.0",  // IP addresses
           "xn--abc",  // reserved prefixes
           "sthree-abc",
           "sthree-configurator",
           "amzn-s3-demo-bucket",
           "bucket-s3alias",  // reserved suffixes
           "bucket--ol-s3",
           "bucket.mrap",
           "bucket--x-s3",
       }) {
    EXPECT_FALSE(ValidBucketName(name)) << name;
  }
}

v1::Grant G(const std::string& bucket, v1::Grant::Right right) {
  v1::Grant g;
  g.set_bucket(bucket);
  g.set_right(right);
  return g;
}

TEST(PrincipalTest, RightsAreOrderedReadWriteOwner) {
  Principal reader{"k1", {G("b1", v1::Grant::READ)}};
  EXPECT_TRUE(reader.Allows("b1", v1::Grant::READ));
  EXPECT_FALSE(reader.Allows("b1", v1::Grant::WRITE));
  EXPECT_FALSE(reader.Allows("b1", v1::Grant::OWNER));

  Principal writer{"k2", {G("b1", v1::Grant::WRITE)}};
  EXPECT_TRUE(writer.Allows("b1", v1::Grant::READ));
  EXPECT_TRUE(writer.Allows("b1", v1::Grant::WRITE));
  EXPECT_FALSE(writer.Allows("b1", v1::Grant::OWNER));

  Principal owner{"k3", {G("b1", v1::Grant::OWNER)}};
  EXPECT_TRUE(owner.Allows("b1", v1::Grant::READ));
  EXPECT_TRUE(owner.Allows("b1", v1::Grant::WRITE));
  EXPECT_TRUE(owner.Allows("b1", v1::Grant::OWNER));
}

TEST(PrincipalTest, GrantsApplyToTheirBucketOnly) {
  Principal p{"k", {G("b1", v1::Grant::OWNER), G("b2", v1::Grant::READ)}};
  EXPECT_TRUE(p.Allows("b1", v1::Grant::OWNER));
  EXPECT_TRUE(p.Allows("b2", v1::Grant::READ));
  EXPECT_FALSE(p.Allows("b2", v1::Grant::WRITE));
  EXPECT_FALSE(p.Allows("b3", v1::Grant::READ));
  EXPECT_FALSE(p.Allows("b", v1::Grant::READ));
  EXPECT_FALSE(p.Allows("b10", v1::Grant::READ));
  EXPECT_FALSE(p.Allows("*", v1::Grant::READ));
  EXPECT_TRUE(p.HasAnyGrantOn("b2"));
  EXPECT_FALSE(p.HasAnyGrantOn("b3"));
}

TEST(PrincipalTest, StarCoversEveryBucket) {
  Principal p{"k", {G("*", v1::Grant::WRITE), G("special", v1::Grant::OWNER)}};
  EXPECT_TRUE(p.Allows("anything", v1::Grant::WRITE));
  EXPECT_FALSE(p.Allows("anything", v1::Grant::OWNER));
  EXPECT_TRUE(p.Allows("special", v1::Grant::OWNER));
  EXPECT_TRUE(p.HasAnyGrantOn("new-bucket"));
}

TEST(PrincipalTest, NoGrantsOrUnspecifiedRightsAllowNothing) {
  Principal none{"k", {}};
  EXPECT_FALSE(none.Allows("b1", v1::Grant::READ));
  EXPECT_FALSE(none.HasAnyGrantOn("b1"));
  Principal unspecified{
      "k", {G("b1", v1::Grant::RIGHT_UNSPECIFIED), G("*", v1::Grant::RIGHT_UNSPECIFIED)}};
  EXPECT_FALSE(unspecified.Allows("b1", v1::Grant::READ));
  EXPECT_FALSE(unspecified.HasAnyGrantOn("b2"));
}

}  // namespace
}  // namespace mosaic::gateway
