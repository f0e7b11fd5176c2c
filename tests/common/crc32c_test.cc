#include "common/crc32c.h"

#include <gtest/gtest.h>

namespace mosaic {
namespace {

TEST(Crc32cTest, KnownAnswers) {
  EXPECT_EQ(Crc32c(AsBytes("123456789")), 0xE3069283u);
  EXPECT_EQ(Crc32c(AsBytes("")), 0u);
  // RFC 3720 B.4: 32 bytes of zeros.
  std::string zeros(32, '\0');
  EXPECT_EQ(Crc32c(AsBytes(zeros)), 0x8A9136AAu);
}

TEST(Crc32cTest, ExtendEqualsWhole) {
  std::string all = "the quick brown fox jumps over the lazy dog";
  for (size_t cut = 0; cut <= all.size(); ++cut) {
    uint32_t a = Crc32c(AsBytes(std::string_view(all).substr(0, cut)));
    EXPECT_EQ(Crc32cExtend(a, AsBytes(std::string_view(all).substr(cut))), Crc32c(AsBytes(all)));
  }
}

}  // namespace
}  // namespace mosaic
