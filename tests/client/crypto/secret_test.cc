#include "client/crypto/secret.h"

#include <algorithm>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace mosaic::client {
namespace {

bool AllZero(const std::byte* p, size_t n) {
  return std::all_of(p, p + n, [](std::byte b) { return b == std::byte{0}; });
}

TEST(SecretBytesTest, KeySizedSecretsTakeAnArenaSlotAndGiveItBack) {
  const size_t before = SecretArenaSlotsInUse();
  {
    SecretBytes key(kKeyBytes);
    SecretBytes longer(kKeyBytes + 1);  // its own guarded pages
    EXPECT_EQ(SecretArenaSlotsInUse(), before + 1);
    SecretBytes moved = std::move(key);
    EXPECT_EQ(SecretArenaSlotsInUse(), before + 1);
    EXPECT_TRUE(AllZero(moved.data(), moved.size()));
  }
  EXPECT_EQ(SecretArenaSlotsInUse(), before);
}

// The arena's memory stays mapped, so a released slot can be looked at: it must be wiped.
TEST(SecretBytesTest, ReleasedSlotIsWipedAndReusedFirst) {
  const std::byte* slot = nullptr;
  {
    SecretBytes key = SecretBytes::Random(kKeyBytes);
    ASSERT_FALSE(AllZero(key.data(), key.size()));
    slot = key.data();
  }
  EXPECT_TRUE(AllZero(slot, kKeyBytes));
  SecretBytes next(kKeyBytes);
  EXPECT_EQ(next.data(), slot);
  EXPECT_TRUE(AllZero(next.data(), next.size()));
}

TEST(SecretBytesTest, AssigningOverASlotWipesIt) {
  SecretBytes key = SecretBytes::Random(kKeyBytes);
  const std::byte* slot = key.data();
  key = SecretBytes(kKeyBytes + 8);
  EXPECT_TRUE(AllZero(slot, kKeyBytes));
}

// With every slot taken, keys get their own memory and keep their bytes apart.
TEST(SecretBytesTest, FullArenaFallsBackToOwnPages) {
  const size_t before = SecretArenaSlotsInUse();
  std::vector<SecretBytes> keys;
  std::vector<std::vector<std::byte>> copies;
  for (size_t i = 0; i < kSecretArenaSlots + 8; ++i) {
    keys.push_back(SecretBytes::Random(kKeyBytes));
    copies.emplace_back(keys.back().data(), keys.back().data() + kKeyBytes);
  }
  EXPECT_EQ(SecretArenaSlotsInUse(), kSecretArenaSlots);
  std::set<const std::byte*> distinct;
  for (size_t i = 0; i < keys.size(); ++i) {
    distinct.insert(keys[i].data());
    EXPECT_TRUE(keys[i].Equals(copies[i])) << i;
  }
  EXPECT_EQ(distinct.size(), keys.size());
  keys.clear();
  EXPECT_EQ(SecretArenaSlotsInUse(), before);
}

}  // namespace
}  // namespace mosaic::client
