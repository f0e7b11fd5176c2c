#include "client/crypto/password.h"

#include <gtest/gtest.h>

namespace mosaic::client {
namespace {

TEST(PasswordTest, HashIsArgon2idAndVerifiesOnlyTheRightPassword) {
  auto hash = HashPassword("correct horse battery", PasswordCost::kMinimum);
  ASSERT_TRUE(hash.ok()) << hash.status();
  EXPECT_TRUE(hash->starts_with("$argon2id$")) << *hash;
  EXPECT_TRUE(VerifyPassword(*hash, "correct horse battery"));
  EXPECT_FALSE(VerifyPassword(*hash, "correct horse batterz"));
  EXPECT_FALSE(VerifyPassword(*hash, ""));
}

TEST(PasswordTest, SaltedSoEqualPasswordsHashApart) {
  auto a = HashPassword("same password", PasswordCost::kMinimum);
  auto b = HashPassword("same password", PasswordCost::kMinimum);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
}

TEST(PasswordTest, GarbageHashNeverVerifies) {
  EXPECT_FALSE(VerifyPassword("", ""));
  EXPECT_FALSE(VerifyPassword("$argon2i$v=19$m=8,t=1,p=1$xx$yy", "x"));
  EXPECT_FALSE(VerifyPassword(std::string(1000, 'a'), "x"));
}

TEST(PasswordTest, RandomPasswordsAndTokens) {
  std::string p = RandomPassword(20);
  EXPECT_EQ(p.size(), 20u);
  EXPECT_NE(p, RandomPassword(20));
  EXPECT_EQ(p.find_first_of("0O1lI"), std::string::npos);
  std::string t = RandomToken(32);
  EXPECT_EQ(t.size(), 64u);
  EXPECT_NE(t, RandomToken(32));
}

}  // namespace
}  // namespace mosaic::client
