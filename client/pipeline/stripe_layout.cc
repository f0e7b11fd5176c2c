#include "client/pipeline/stripe_layout.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/check.h"

namespace mosaic::client {

absl::StatusOr<StripeLayout> StripeLayout::Create(uint64_t object_bytes, uint64_t stripe_bytes,
                                                  int k) {
  if (stripe_bytes == 0 || k < 1 || k > 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad layout: stripe of ", stripe_bytes, " bytes, k = ", k));
  }
  return StripeLayout(object_bytes, stripe_bytes, k);
}

uint64_t StripeLayout::StripeCount() const {
  if (object_bytes_ == 0) return 1;
  return object_bytes_ / stripe_bytes_ + (object_bytes_ % stripe_bytes_ != 0 ? 1 : 0);
}

StripeInfo StripeLayout::Stripe(uint64_t index) const {
  const uint64_t count = StripeCount();
  CHECK(index < count);
  const uint64_t start = index * stripe_bytes_;
  return StripeInfo{.index = index,
                    .plaintext_bytes = std::min(stripe_bytes_, object_bytes_ - start),
                    .last = index + 1 == count};
}

absl::StatusOr<StripeLayout::Range> StripeLayout::MapByteRange(uint64_t offset,
                                                               uint64_t length) const {
  if (offset > object_bytes_) {
    return absl::OutOfRangeError(
        absl::StrCat("offset ", offset, " is past the end of a ", object_bytes_, "-byte object"));
  }
  Range range;
  range.offset = offset;
  range.length = std::min(length, object_bytes_ - offset);
  if (range.length == 0) return range;
  range.first_stripe = offset / stripe_bytes_;
  const uint64_t last_stripe = (offset + range.length - 1) / stripe_bytes_;
  range.stripe_count = last_stripe - range.first_stripe + 1;
  return range;
}

StripeSlice StripeLayout::Slice(const Range& range, uint64_t index) const {
  CHECK(index >= range.first_stripe && index < range.first_stripe + range.stripe_count);
  StripeSlice slice;
  slice.stripe = Stripe(index);
  const uint64_t stripe_start = index * stripe_bytes_;
  const uint64_t begin = std::max(range.offset, stripe_start);
  const uint64_t end = std::min(range.offset + range.length, stripe_start + stripe_bytes_);
  slice.offset = begin - stripe_start;
  slice.length = end - begin;
  const uint64_t shard_bytes = ShardBytesFor(slice.stripe.plaintext_bytes, k_);
  slice.first_data_shard = int(slice.offset / shard_bytes);
  slice.last_data_shard = int((slice.offset + slice.length - 1) / shard_bytes);
  return slice;
}

}  // namespace mosaic::client
