#include "common/units.h"

#include <gtest/gtest.h>

namespace mosaic {
namespace {

TEST(UnitsTest, ParsesSizes) {
  EXPECT_EQ(*ParseSize("4096"), 4096u);
  EXPECT_EQ(*ParseSize("64KiB"), 65536u);
  EXPECT_EQ(*ParseSize("8 MiB"), 8u << 20);
  EXPECT_EQ(*ParseSize("1.5GiB"), 3u << 29);
  EXPECT_EQ(*ParseSize("2TB"), 2'000'000'000'000u);
  EXPECT_EQ(*ParseSize("100k"), 100'000u);
}

TEST(UnitsTest, RejectsBadSizes) {
  for (const char* bad : {"", "MiB", "-1", "12 parsecs", "1e3", "99999999999TiB"}) {
    EXPECT_EQ(ParseSize(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(UnitsTest, ParsesDurations) {
  EXPECT_EQ(ParseDuration("250ms")->count(), 250);
  EXPECT_EQ(ParseDuration("30")->count(), 30'000);
  EXPECT_EQ(ParseDuration("10m")->count(), 600'000);
  EXPECT_EQ(ParseDuration("7d")->count(), 7 * 86'400'000LL);
  EXPECT_FALSE(ParseDuration("soon").ok());
  EXPECT_FALSE(ParseDuration("3 fortnights").ok());
}

TEST(UnitsTest, FormatsSizes) {
  EXPECT_EQ(FormatSize(512), "512 B");
  EXPECT_EQ(FormatSize(3u << 29), "1.5 GiB");
}

}  // namespace
}  // namespace mosaic
