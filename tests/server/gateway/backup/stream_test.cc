#include "server/gateway/backup/stream.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace mosaic::gateway {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

std::string EncodeSnapshot(const Pairs& pairs, size_t flush_bytes, int* flushes = nullptr) {
  std::string out;
  BackupStreamEncoder enc(
      BackupKind::kSnapshot,
      [&](std::string_view b) {
        out.append(b);
        if (flushes) ++*flushes;
        return absl::OkStatus();
      },
      flush_bytes);
  for (const auto& [k, v] : pairs) EXPECT_TRUE(enc.AddPair(k, v).ok());
  EXPECT_TRUE(enc.Finish().ok());
  EXPECT_EQ(enc.bytes(), out.size());
  return out;
}

absl::StatusOr<Pairs> DecodePairs(std::string_view stream) {
  Pairs got;
  BackupStreamVisitor visit;
  visit.pair = [&](std::string_view k, std::string_view v) {
    got.emplace_back(k, v);
    return absl::OkStatus();
  };
  auto header = DecodeBackupStream(stream, visit);
  if (!header.ok()) return header.status();
  EXPECT_EQ(header->kind, BackupKind::kSnapshot);
  EXPECT_EQ(header->entries, got.size());
  return got;
}

TEST(BackupStreamTest, SnapshotRoundTripsBinaryKeysAndValuesAcrossFlushes) {
  Pairs pairs = {
      {std::string("b\0x", 3), std::string("\0\xff", 2)}, {"o", ""}, {std::string(1, '\0'), "v"}};
  pairs.emplace_back("big", std::string(10000, 'z'));
  int flushes = 0;
  std::string stream = EncodeSnapshot(pairs, 16, &flushes);
  EXPECT_GT(flushes, 2);
  auto got = DecodePairs(stream);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, pairs);
}

TEST(BackupStreamTest, IncrementRoundTripsBatchesWithSequences) {
  std::string out;
  BackupStreamEncoder enc(BackupKind::kIncrement, [&](std::string_view b) {
    out.append(b);
    return absl::OkStatus();
  });
  ASSERT_TRUE(enc.AddBatch(7, "batch-one").ok());
  ASSERT_TRUE(enc.AddBatch(9, std::string(3, '\0')).ok());
  EXPECT_FALSE(enc.AddPair("k", "v").ok());  // a pair has no place in an increment
  ASSERT_TRUE(enc.Finish().ok());
  std::vector<std::pair<uint64_t, std::string>> got;
  BackupStreamVisitor visit;
  visit.batch = [&](uint64_t seq, std::string_view b) {
    got.emplace_back(seq, b);
    return absl::OkStatus();
  };
  auto header = DecodeBackupStream(out, visit);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->kind, BackupKind::kIncrement);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], std::make_pair(uint64_t{7}, std::string("batch-one")));
  EXPECT_EQ(got[1], std::make_pair(uint64_t{9}, std::string(3, '\0')));
}

TEST(BackupStreamTest, EmptySnapshotIsValid) {
  auto got = DecodePairs(EncodeSnapshot({}, 1 << 20));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->empty());
}

TEST(BackupStreamTest, EveryTruncationIsDataLoss) {
  std::string stream = EncodeSnapshot({{"key", "value"}, {"k2", "v2"}}, 1 << 20);
  for (size_t n = 0; n < stream.size(); ++n) {
    auto got = DecodePairs(std::string_view(stream).substr(0, n));
    ASSERT_FALSE(got.ok()) << "accepted a stream cut at " << n;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  }
}

TEST(BackupStreamTest, CorruptInputIsRejected) {
  std::string stream = EncodeSnapshot({{"key", "value"}}, 1 << 20);
  std::string bad_magic = stream;
  bad_magic[0] = 'X';
  std::string bad_kind = stream;
  bad_kind[8] = 'Z';
  std::string trailing = stream + "x";
  std::string bad_count = stream;
  bad_count[bad_count.size() - 8] = 5;
  std::string wrong_kind = stream;
  wrong_kind[8] = 'I';  // a snapshot's pairs in an increment
  std::string huge_length = stream;
  huge_length[8 + 1 + 1 + 3] = '\x7f';  // the key length's top byte
  for (const std::string& s : {bad_magic, bad_kind, trailing, bad_count, wrong_kind, huge_length}) {
    auto got = DecodePairs(s);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss) << got.status();
  }
}

TEST(BackupStreamTest, SinkAndVisitorErrorsStopTheWork) {
  BackupStreamEncoder enc(
      BackupKind::kSnapshot, [](std::string_view) { return absl::UnavailableError("node gone"); },
      1);
  EXPECT_EQ(enc.AddPair("k", "v").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(enc.Finish().code(), absl::StatusCode::kUnavailable);

  std::string stream = EncodeSnapshot({{"a", "1"}, {"b", "2"}}, 1 << 20);
  int seen = 0;
  BackupStreamVisitor visit;
  visit.pair = [&](std::string_view, std::string_view) {
    ++seen;
    return absl::InternalError("stop");
  };
  EXPECT_EQ(DecodeBackupStream(stream, visit).status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(seen, 1);
}

}  // namespace
}  // namespace mosaic::gateway
