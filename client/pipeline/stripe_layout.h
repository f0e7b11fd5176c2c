#pragma once
// How an object's plaintext is cut into stripes and shards (docs/formats/crypto.md,
// "Stripes and shards"), and which stripes a byte range touches. Pure arithmetic: no I/O,
// thread-safe.
//
// An object of N bytes has max(1, ceil(N / stripe_bytes)) stripes; all are stripe_bytes
// long except the last, which holds the rest (0 bytes for an empty object). A stripe of L
// bytes is cut into k data shards of ceil(L / k) bytes; the tail of the last data shards is
// zero padding.

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mosaic::client {

inline constexpr uint64_t kDefaultStripeBytes = uint64_t{4} << 20;

// Where one stripe sits in its object. Its index, length and last flag are bound into every
// shard's tag.
struct StripeInfo {
  uint64_t index = 0;
  uint64_t plaintext_bytes = 0;
  bool last = false;
};

// Bytes of each of the k data (and m parity) shards of a stripe of `stripe_plaintext_bytes`.
inline uint64_t ShardBytesFor(uint64_t stripe_plaintext_bytes, int k) {
  return (stripe_plaintext_bytes + uint64_t(k) - 1) / uint64_t(k);
}

// The part of one stripe a byte range covers, and the data shards that hold it.
struct StripeSlice {
  StripeInfo stripe;
  uint64_t offset = 0;  // within the stripe's plaintext
  uint64_t length = 0;
  int first_data_shard = 0;
  int last_data_shard = 0;  // inclusive
};

class StripeLayout {
 public:
  // INVALID_ARGUMENT unless stripe_bytes >= 1 and 1 <= k <= 32.
  [[nodiscard]] static absl::StatusOr<StripeLayout> Create(uint64_t object_bytes,
                                                           uint64_t stripe_bytes, int k);

  uint64_t object_bytes() const { return object_bytes_; }
  uint64_t stripe_bytes() const { return stripe_bytes_; }
  int k() const { return k_; }

  // At least 1: an empty object is one empty stripe.
  uint64_t StripeCount() const;
  // Stripe `index` (< StripeCount(), CHECKed).
  StripeInfo Stripe(uint64_t index) const;

  // The stripes covering [offset, offset + length), the length clamped to the object's end.
  // An empty range (length 0, or offset == object_bytes) covers no stripes. OUT_OF_RANGE if
  // offset > object_bytes.
  struct Range {
    uint64_t first_stripe = 0;
    uint64_t stripe_count = 0;  // 0 for an empty range
    uint64_t offset = 0;        // in the object
    uint64_t length = 0;        // after clamping
  };
  [[nodiscard]] absl::StatusOr<Range> MapByteRange(uint64_t offset, uint64_t length) const;

  // The part of `range` inside stripe `index`, which must be one of the range's stripes
  // (CHECKed).
  StripeSlice Slice(const Range& range, uint64_t index) const;

 private:
  StripeLayout(uint64_t object_bytes, uint64_t stripe_bytes, int k)
      : object_bytes_(object_bytes), stripe_bytes_(stripe_bytes), k_(k) {}

  uint64_t object_bytes_;
  uint64_t stripe_bytes_;
  int k_;
};

}  // namespace mosaic::client
