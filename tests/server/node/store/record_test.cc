#include "server/node/store/record.h"

#include <gtest/gtest.h>

#include <random>

#include "common/aligned_buffer.h"
#include "common/crc32c.h"

namespace mosaic::node {
namespace {

AlignedBuffer Header(const RecordHeader& h) {
  AlignedBuffer b(kRecordHeaderSize);
  EncodeRecordHeader(h, b.data());
  return b;
}

TEST(RecordTest, RoundTrips) {
  RecordHeader h{0xdeadbeef, 12345, 77, std::string("id\0with\xffnul", 11), "tenant-a"};
  AlignedBuffer b = Header(h);
  auto parsed = ParseRecordHeader(b.span());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->payload_crc, h.payload_crc);
  EXPECT_EQ(parsed->payload_length, h.payload_length);
  EXPECT_EQ(parsed->sequence, h.sequence);
  EXPECT_EQ(parsed->chunk_id, h.chunk_id);
  EXPECT_EQ(parsed->tenant, h.tenant);
}

TEST(RecordTest, SizeIsAlignedAndCoversHeader) {
  EXPECT_EQ(RecordSize(0), 4096u);
  EXPECT_EQ(RecordSize(4096 - 256), 4096u);
  EXPECT_EQ(RecordSize(4096 - 255), 8192u);
  EXPECT_EQ(RecordSize(1 << 20), (1u << 20) + 4096);
}

TEST(RecordTest, ZerosAreNoRecord) {
  AlignedBuffer zeros(kRecordHeaderSize);
  EXPECT_EQ(ParseRecordHeader(zeros.span()).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(RecordTest, EveryFlippedBitIsDetected) {
  AlignedBuffer good = Header({1, 2, 3, "chunk", "t"});
  for (size_t bit = 0; bit < kRecordHeaderSize * 8; ++bit) {
    AlignedBuffer b = Header({1, 2, 3, "chunk", "t"});
    b.data()[bit / 8] ^= std::byte(1 << (bit % 8));
    EXPECT_FALSE(ParseRecordHeader(b.span()).ok()) << "bit " << bit;
  }
  EXPECT_TRUE(ParseRecordHeader(good.span()).ok());
}

TEST(RecordTest, HostileHeadersAreRejectedNotCrashing) {
  std::mt19937 rng(42);
  for (int i = 0; i < 20000; ++i) {
    AlignedBuffer b = Header({1, 2, 3, "chunk", "t"});
    // Rewrite random fields, keep the magic, and sometimes fix the CRC up so that the
    // length checks themselves are exercised.
    for (int k = 0; k < 4; ++k) b.data()[4 + rng() % (kRecordHeaderSize - 4)] = std::byte(rng());
    auto parsed = ParseRecordHeader(b.span());
    if (parsed.ok()) {
      EXPECT_LE(parsed->chunk_id.size(), kMaxChunkIdSize);
      EXPECT_LE(parsed->payload_length, kMaxRecordPayload);
    }
  }
  EXPECT_FALSE(ParseRecordHeader(ConstByteSpan{}).ok());
}

// Recomputes the header CRC as docs/formats/segment.md defines it: CRC32C over the 256
// header bytes with bytes [8, 12) read as zero.
void FixHeaderCrc(std::byte* h) {
  StoreLE32(h + 8, 0);
  StoreLE32(h + 8, Crc32c({h, kRecordHeaderSize}));
}

TEST(RecordTest, DocumentedCrcMatchesEncoder) {
  AlignedBuffer b = Header({1, 2, 3, "chunk", "t"});
  uint32_t stored = LoadLE32(b.data() + 8);
  FixHeaderCrc(b.data());
  EXPECT_EQ(LoadLE32(b.data() + 8), stored);
  EXPECT_EQ(LoadLE32(b.data()), kRecordMagic);
}

TEST(RecordTest, ImpossibleLengthsWithValidCrcAreDataLoss) {
  struct Case {
    size_t offset;
    uint8_t value;
  };
  for (Case c : {Case{32, 0}, Case{32, 65}, Case{33, 0}, Case{33, 200}, Case{4, 0}, Case{6, 2}}) {
    AlignedBuffer b = Header({1, 2, 3, "chunk", "t"});
    b.data()[c.offset] = std::byte(c.value);
    FixHeaderCrc(b.data());
    EXPECT_EQ(ParseRecordHeader(b.span()).status().code(), absl::StatusCode::kDataLoss)
        << "offset " << c.offset;
  }
  AlignedBuffer huge = Header({1, 2, 3, "chunk", "t"});
  StoreLE64(huge.data() + 16, kMaxRecordPayload + 1);
  FixHeaderCrc(huge.data());
  EXPECT_EQ(ParseRecordHeader(huge.span()).status().code(), absl::StatusCode::kDataLoss);
}

TEST(RecordTest, NewerFormatVersionIsRefusedNamingBothVersions) {
  AlignedBuffer b = Header({1, 2, 3, "chunk", "t"});
  StoreLE16(b.data() + 4, kRecordVersion + 1);
  FixHeaderCrc(b.data());
  auto parsed = ParseRecordHeader(b.span());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(parsed.status().message().find("format version " + std::to_string(kRecordVersion + 1) +
                                           ": this mosaic reads version " +
                                           std::to_string(kRecordVersion)),
            std::string::npos)
      << parsed.status();
}

}  // namespace
}  // namespace mosaic::node
