#include "server/gateway/s3/object_get.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "server/gateway/s3/errors.h"
#include "server/gateway/s3/xml.h"

namespace mosaic::gateway {
namespace {

// Expects `header` on an object of `size` bytes to select [first, last].
void ExpectRange(std::string_view header, uint64_t size, uint64_t first, uint64_t last) {
  auto r = ParseRange(header, size);
  ASSERT_TRUE(r.ok()) << header << ": " << r.status();
  ASSERT_TRUE(r->has_value()) << header << " was ignored";
  EXPECT_EQ((*r)->first, first) << header;
  EXPECT_EQ((*r)->last, last) << header;
}

void ExpectIgnored(std::string_view header, uint64_t size) {
  auto r = ParseRange(header, size);
  ASSERT_TRUE(r.ok()) << header << ": " << r.status();
  EXPECT_FALSE(r->has_value()) << header;
}

void ExpectUnsatisfiable(std::string_view header, uint64_t size) {
  auto r = ParseRange(header, size);
  ASSERT_FALSE(r.ok()) << header;
  EXPECT_EQ(CodeOf(r.status()), S3Code::kInvalidRange) << header;
  EXPECT_EQ(InfoOf(CodeOf(r.status())).http_status, 416);
}

TEST(ParseRangeTest, SingleRanges) {
  ExpectRange("bytes=0-0", 100, 0, 0);
  ExpectRange("bytes=0-99", 100, 0, 99);
  ExpectRange("bytes=10-19", 100, 10, 19);
  ExpectRange("bytes=99-99", 100, 99, 99);
  ExpectRange(" bytes=10-19 ", 100, 10, 19);
}

TEST(ParseRangeTest, OpenEndedAndClampedRanges) {
  ExpectRange("bytes=10-", 100, 10, 99);
  ExpectRange("bytes=0-", 1, 0, 0);
  ExpectRange("bytes=50-1000", 100, 50, 99);
  ExpectRange("bytes=0-18446744073709551615", 100, 0, 99);
}

TEST(ParseRangeTest, SuffixRanges) {
  ExpectRange("bytes=-1", 100, 99, 99);
  ExpectRange("bytes=-10", 100, 90, 99);
  ExpectRange("bytes=-100", 100, 0, 99);
  ExpectRange("bytes=-1000", 100, 0, 99);
  ExpectUnsatisfiable("bytes=-0", 100);
}

TEST(ParseRangeTest, PastTheEndIsUnsatisfiable) {
  ExpectUnsatisfiable("bytes=100-", 100);
  ExpectUnsatisfiable("bytes=100-200", 100);
  ExpectUnsatisfiable("bytes=18446744073709551615-", 100);
}

TEST(ParseRangeTest, ZeroSizeObject) {
  // No byte of an empty object can be selected (RFC 7233 §4.4).
  ExpectUnsatisfiable("bytes=0-", 0);
  ExpectUnsatisfiable("bytes=0-0", 0);
  ExpectUnsatisfiable("bytes=-5", 0);
  ExpectIgnored("", 0);
  ExpectIgnored("bytes=0-0,1-1", 0);
}

TEST(ParseRangeTest, MultipleRangesAreIgnored) {
  ExpectIgnored("bytes=0-0,5-9", 100);
  ExpectIgnored("bytes=0-0, -1", 100);
  ExpectIgnored("bytes=0-,", 100);
}

TEST(ParseRangeTest, GarbageIsIgnored) {
  for (const char* h : {"",          "bytes",           "bytes=",      "bytes=-",
                        "bytes=a-b", "bytes=1-a",       "bytes=a-",    "bytes=5-4",
                        "bytes=--1", "bytes=1--2",      "bytes=1-2-3", "items=0-1",
                        "0-1",       "bytes 0-1",       "bytes=+1-2",  "bytes=1-+2",
                        "bytes=- 1", "bytes=0x10-0x20", "bytes=1.5-2", "bytes=\xff-1"}) {
    ExpectIgnored(h, 100);
  }
}

TEST(ParseRangeTest, HugeNumbers) {
  // Past uint64: a last position beyond the object is clamped whatever its length; a first
  // position beyond it cannot be satisfied; a suffix longer than the object is all of it.
  ExpectRange("bytes=0-99999999999999999999999999", 100, 0, 99);
  ExpectRange("bytes=-99999999999999999999999999", 100, 0, 99);
  ExpectUnsatisfiable("bytes=99999999999999999999999999-", 100);
  ExpectUnsatisfiable("bytes=99999999999999999999999999-99999999999999999999999999", 100);
  ExpectRange("bytes=18446744073709551614-", UINT64_MAX, UINT64_MAX - 1, UINT64_MAX - 1);
}

// Conditional requests ------------------------------------------------------------------

constexpr char kEtag[] = "d41d8cd98f00b204e9800998ecf8427e";
// Tue, 02 Jan 2024 03:04:05 GMT, plus 678 ms.
constexpr int64_t kModifiedMs = 1704164645678;
constexpr char kModified[] = "Tue, 02 Jan 2024 03:04:05 GMT";
constexpr char kBefore[] = "Tue, 02 Jan 2024 03:04:04 GMT";
constexpr char kAfter[] = "Tue, 02 Jan 2024 03:04:06 GMT";

absl::Status Check(std::vector<std::pair<std::string, std::string>> headers) {
  RequestView r;
  r.method = "GET";
  r.target = "/b/k";
  r.headers = std::move(headers);
  return CheckConditions(r, kEtag, kModifiedMs);
}

std::string Quoted(std::string_view tag) { return "\"" + std::string(tag) + "\""; }

void ExpectOk(const absl::Status& s) { EXPECT_TRUE(s.ok()) << s; }
void ExpectCode(const absl::Status& s, S3Code code) {
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(CodeOf(s), code) << s;
}

TEST(CheckConditionsTest, NoConditions) { ExpectOk(Check({})); }

TEST(CheckConditionsTest, IfMatch) {
  ExpectOk(Check({{"if-match", Quoted(kEtag)}}));
  ExpectOk(Check({{"if-match", kEtag}}));
  ExpectOk(Check({{"if-match", "*"}}));
  ExpectOk(Check({{"if-match", "\"other\", " + Quoted(kEtag)}}));
  ExpectCode(Check({{"if-match", "\"other\""}}), S3Code::kPreconditionFailed);
  ExpectCode(Check({{"if-match", "\"other\",\"x\""}}), S3Code::kPreconditionFailed);
  // If-Match uses the strong comparison (RFC 7232 §3.1): a weak tag never matches.
  ExpectCode(Check({{"if-match", "W/" + Quoted(kEtag)}}), S3Code::kPreconditionFailed);
  EXPECT_EQ(InfoOf(S3Code::kPreconditionFailed).http_status, 412);
}

TEST(CheckConditionsTest, IfNoneMatch) {
  ExpectCode(Check({{"if-none-match", Quoted(kEtag)}}), S3Code::kNotModified);
  ExpectCode(Check({{"if-none-match", "*"}}), S3Code::kNotModified);
  ExpectCode(Check({{"if-none-match", "\"a\" , " + Quoted(kEtag)}}), S3Code::kNotModified);
  // If-None-Match uses the weak comparison (RFC 7232 §3.2).
  ExpectCode(Check({{"if-none-match", "W/" + Quoted(kEtag)}}), S3Code::kNotModified);
  ExpectOk(Check({{"if-none-match", "\"other\""}}));
  ExpectOk(Check({{"if-none-match", "W/\"other\""}}));
  EXPECT_EQ(InfoOf(S3Code::kNotModified).http_status, 304);
}

TEST(CheckConditionsTest, DatesHaveSecondPrecision) {
  // The object was modified at 03:04:05.678: it is not modified since 03:04:05.
  ExpectCode(Check({{"if-modified-since", kModified}}), S3Code::kNotModified);
  ExpectCode(Check({{"if-modified-since", kAfter}}), S3Code::kNotModified);
  ExpectOk(Check({{"if-modified-since", kBefore}}));
  ExpectOk(Check({{"if-unmodified-since", kModified}}));
  ExpectOk(Check({{"if-unmodified-since", kAfter}}));
  ExpectCode(Check({{"if-unmodified-since", kBefore}}), S3Code::kPreconditionFailed);
}

TEST(CheckConditionsTest, InvalidDatesAreIgnored) {
  ExpectOk(Check({{"if-modified-since", "yesterday"}}));
  ExpectOk(Check({{"if-unmodified-since", "Tue, 99 Jan 2024 03:04:05 GMT"}}));
  ExpectOk(Check({{"if-unmodified-since", ""}}));
}

TEST(CheckConditionsTest, IfMatchBeatsIfUnmodifiedSince) {
  // A matching If-Match makes If-Unmodified-Since irrelevant (RFC 7232 §6, step 2).
  ExpectOk(Check({{"if-match", Quoted(kEtag)}, {"if-unmodified-since", kBefore}}));
  ExpectCode(Check({{"if-match", "\"other\""}, {"if-unmodified-since", kAfter}}),
             S3Code::kPreconditionFailed);
}

TEST(CheckConditionsTest, IfNoneMatchBeatsIfModifiedSince) {
  // When If-None-Match is present, If-Modified-Since is ignored (RFC 7232 §6, step 4).
  ExpectOk(Check({{"if-none-match", "\"other\""}, {"if-modified-since", kAfter}}));
  ExpectCode(Check({{"if-none-match", Quoted(kEtag)}, {"if-modified-since", kBefore}}),
             S3Code::kNotModified);
}

TEST(CheckConditionsTest, PreconditionFailureBeatsNotModified) {
  ExpectCode(Check({{"if-match", "\"other\""}, {"if-none-match", Quoted(kEtag)}}),
             S3Code::kPreconditionFailed);
  ExpectCode(Check({{"if-unmodified-since", kBefore}, {"if-modified-since", kAfter}}),
             S3Code::kPreconditionFailed);
}

// A record as stored: parts by piece id and size (sizes 10, 20, 30: bytes 0-9, 10-29, 30-59).
v1::ObjectRecord ThreeParts(bool sizes) {
  v1::ObjectRecord r;
  r.set_size(60);
  for (uint32_t n = 1; n <= 3; ++n) {
    v1::ObjectPart* p = r.add_parts();
    p->set_number(n);
    p->set_piece_id("p" + std::to_string(n));
    if (sizes) p->set_size(10 * n);
  }
  return r;
}

TEST(PartsReadTest, ARangeOrAPartNumberReadsThePartsItCovers) {
  v1::ObjectRecord r = ThreeParts(true);
  using P = std::pair<int, int>;
  EXPECT_EQ(PartsRead(r, "", std::nullopt), P(0, 3));  // the whole object
  EXPECT_EQ(PartsRead(r, "bytes=0-9", std::nullopt), P(0, 1));
  EXPECT_EQ(PartsRead(r, "bytes=10-10", std::nullopt), P(1, 2));
  EXPECT_EQ(PartsRead(r, "bytes=9-10", std::nullopt), P(0, 2));
  EXPECT_EQ(PartsRead(r, "bytes=-5", std::nullopt), P(2, 3));
  EXPECT_EQ(PartsRead(r, "bytes=30-", std::nullopt), P(2, 3));
  EXPECT_EQ(PartsRead(r, "bytes=29-1000", std::nullopt), P(1, 3));
  EXPECT_EQ(PartsRead(r, "", "2"), P(1, 2));
  EXPECT_EQ(PartsRead(r, "", "3"), P(2, 3));
}

TEST(PartsReadTest, EveryPartWithoutSizesOrForARequestToRefuse) {
  using P = std::pair<int, int>;
  v1::ObjectRecord old = ThreeParts(false);  // written before sizes were stored
  EXPECT_EQ(PartsRead(old, "bytes=0-9", std::nullopt), P(0, 3));
  EXPECT_EQ(PartsRead(old, "", "2"), P(0, 3));
  v1::ObjectRecord r = ThreeParts(true);
  EXPECT_EQ(PartsRead(r, "bytes=60-70", std::nullopt), P(0, 3));  // InvalidRange
  EXPECT_EQ(PartsRead(r, "", "4"), P(0, 3));                      // InvalidPartNumber
  EXPECT_EQ(PartsRead(r, "", "x"), P(0, 3));                      // InvalidArgument
  EXPECT_EQ(PartsRead(r, "bytes=0-1", "1"), P(0, 3));             // both: InvalidRequest
  // A part of a manifest carried in the record (an old plain object) counts as sized.
  v1::ObjectRecord inline_manifest;
  inline_manifest.set_size(5);
  inline_manifest.add_parts()->mutable_manifest()->set_size(5);
  EXPECT_EQ(PartsRead(inline_manifest, "bytes=1-2", std::nullopt), P(0, 1));
}

}  // namespace
}  // namespace mosaic::gateway
