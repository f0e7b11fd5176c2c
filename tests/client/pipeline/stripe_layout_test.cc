#include "client/pipeline/stripe_layout.h"

#include "gtest/gtest.h"

namespace mosaic::client {
namespace {

StripeLayout Layout(uint64_t object_bytes, uint64_t stripe_bytes = 100, int k = 4) {
  auto layout = StripeLayout::Create(object_bytes, stripe_bytes, k);
  EXPECT_TRUE(layout.ok());
  return *layout;
}

TEST(StripeLayoutTest, CountsStripesAndSizesTheLast) {
  EXPECT_EQ(Layout(0).StripeCount(), 1u);
  EXPECT_EQ(Layout(1).StripeCount(), 1u);
  EXPECT_EQ(Layout(100).StripeCount(), 1u);
  EXPECT_EQ(Layout(101).StripeCount(), 2u);
  EXPECT_EQ(Layout(307).StripeCount(), 4u);
  const StripeLayout layout = Layout(307);
  EXPECT_EQ(layout.Stripe(0).plaintext_bytes, 100u);
  EXPECT_FALSE(layout.Stripe(2).last);
  EXPECT_EQ(layout.Stripe(3).plaintext_bytes, 7u);
  EXPECT_TRUE(layout.Stripe(3).last);
  EXPECT_EQ(Layout(0).Stripe(0).plaintext_bytes, 0u);
  EXPECT_TRUE(Layout(0).Stripe(0).last);
}

TEST(StripeLayoutTest, ShardBytesRoundUp) {
  EXPECT_EQ(ShardBytesFor(0, 4), 0u);
  EXPECT_EQ(ShardBytesFor(1, 4), 1u);
  EXPECT_EQ(ShardBytesFor(8, 4), 2u);
  EXPECT_EQ(ShardBytesFor(9, 4), 3u);
  EXPECT_EQ(ShardBytesFor(uint64_t{4} << 20, 6), 699051u);
}

TEST(StripeLayoutTest, MapsARangeAcrossStripes) {
  const StripeLayout layout = Layout(307);
  auto range = layout.MapByteRange(150, 100);
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(range->first_stripe, 1u);
  EXPECT_EQ(range->stripe_count, 2u);
  const StripeSlice first = layout.Slice(*range, 1);
  EXPECT_EQ(first.offset, 50u);
  EXPECT_EQ(first.length, 50u);
  EXPECT_EQ(first.first_data_shard, 2);  // 25-byte shards: bytes 50..99 are shards 2 and 3
  EXPECT_EQ(first.last_data_shard, 3);
  const StripeSlice second = layout.Slice(*range, 2);
  EXPECT_EQ(second.offset, 0u);
  EXPECT_EQ(second.length, 50u);
  EXPECT_EQ(second.first_data_shard, 0);
  EXPECT_EQ(second.last_data_shard, 1);
}

TEST(StripeLayoutTest, ClampsToTheEndAndHandlesTheShortLastStripe) {
  const StripeLayout layout = Layout(307);
  auto range = layout.MapByteRange(299, 1000);
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(range->length, 8u);
  EXPECT_EQ(range->first_stripe, 2u);
  EXPECT_EQ(range->stripe_count, 2u);
  const StripeSlice last = layout.Slice(*range, 3);
  EXPECT_EQ(last.stripe.plaintext_bytes, 7u);
  EXPECT_EQ(last.length, 7u);
  EXPECT_EQ(last.first_data_shard, 0);  // 2-byte shards
  EXPECT_EQ(last.last_data_shard, 3);
}

TEST(StripeLayoutTest, EmptyAndOutOfRangeRanges) {
  const StripeLayout layout = Layout(307);
  EXPECT_EQ(layout.MapByteRange(307, 10)->stripe_count, 0u);
  EXPECT_EQ(layout.MapByteRange(5, 0)->stripe_count, 0u);
  EXPECT_EQ(layout.MapByteRange(308, 1).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(Layout(0).MapByteRange(0, 10)->stripe_count, 0u);
}

TEST(StripeLayoutTest, EveryByteMapsToExactlyOneSlice) {
  const StripeLayout layout = Layout(1000, 64, 3);
  for (uint64_t offset = 0; offset < 1000; offset += 37) {
    for (uint64_t length : {uint64_t{1}, uint64_t{63}, uint64_t{64}, uint64_t{200}}) {
      auto range = layout.MapByteRange(offset, length);
      ASSERT_TRUE(range.ok());
      uint64_t covered = 0;
      for (uint64_t s = range->first_stripe; s < range->first_stripe + range->stripe_count; ++s) {
        const StripeSlice slice = layout.Slice(*range, s);
        ASSERT_EQ(s * 64 + slice.offset, offset + covered);
        covered += slice.length;
      }
      EXPECT_EQ(covered, std::min<uint64_t>(length, 1000 - offset));
    }
  }
}

TEST(StripeLayoutTest, RejectsBadLayouts) {
  EXPECT_FALSE(StripeLayout::Create(10, 0, 4).ok());
  EXPECT_FALSE(StripeLayout::Create(10, 100, 0).ok());
  EXPECT_FALSE(StripeLayout::Create(10, 100, 33).ok());
}

}  // namespace
}  // namespace mosaic::client
