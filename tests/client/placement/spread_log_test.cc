#include "client/placement/spread_log.h"

#include <gtest/gtest.h>

namespace mosaic::client {
namespace {

using std::chrono::seconds;
using Places = std::vector<ShardHolder>;

TEST(SpreadLogTest, DoubledProvidersNamesOnlyProvidersWithTwoShards) {
  Places stripe{{"a-1", "a"}, {"b-1", "b"}, {"a-2", "a"}, {"c-1", "c"}};
  auto doubled = DoubledProviders(stripe);
  ASSERT_EQ(doubled.size(), 1u);
  EXPECT_EQ(doubled["a"], (std::vector<std::string>{"a-1", "a-2"}));
  EXPECT_TRUE(DoubledProviders({{"a-1", "a"}, {"b-1", "b"}}).empty());
}

TEST(SpreadLogTest, CountsDoubledStripesAndDescribesTheFirst) {
  auto now = std::chrono::steady_clock::time_point();
  SpreadLog log(seconds(10), [&] { return now; });
  metrics::Counter counter;
  log.SetCounter(&counter);
  Places spread{{"a-1", "a"}, {"b-1", "b"}, {"c-1", "c"}};
  Places doubled{{"a-1", "a"}, {"b-1", "b"}, {"b-2", "b"}};
  EXPECT_FALSE(log.Record("obj0", {spread, spread}, [] { return 3; }).has_value());
  EXPECT_EQ(counter.Value(), 0u);
  auto line = log.Record("obj1", {spread, doubled, doubled}, [] { return 2; });
  ASSERT_TRUE(line.has_value());
  EXPECT_NE(line->find("object obj1"), std::string::npos) << *line;
  EXPECT_NE(line->find("stripe 1 has 2 shards at provider b (nodes b-1, b-2)"), std::string::npos)
      << *line;
  EXPECT_NE(line->find("2 of its 3 stripe(s) doubled up (2 usable provider(s) for 3 shards"),
            std::string::npos)
      << *line;
  EXPECT_EQ(counter.Value(), 2u);
  EXPECT_EQ(log.doubled_stripes(), 2u);
}

TEST(SpreadLogTest, LinesAreRateLimitedButEveryStripeIsCounted) {
  auto now = std::chrono::steady_clock::time_point();
  SpreadLog log(seconds(10), [&] { return now; });
  Places doubled{{"a-1", "a"}, {"a-2", "a"}};
  EXPECT_TRUE(log.Record("o1", {doubled}, [] { return 1; }).has_value());
  now += seconds(3);
  EXPECT_FALSE(log.Record("o2", {doubled}, [] { return 1; }).has_value());
  EXPECT_FALSE(log.Record("o3", {doubled}, [] { return 1; }).has_value());
  now += seconds(8);
  auto line = log.Record("o4", {doubled}, [] { return 1; });
  ASSERT_TRUE(line.has_value());
  EXPECT_NE(line->find("(2 more such write(s) since the last line)"), std::string::npos) << *line;
  EXPECT_EQ(log.doubled_stripes(), 4u);
}

}  // namespace
}  // namespace mosaic::client
