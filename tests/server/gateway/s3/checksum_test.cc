#include "server/gateway/s3/checksum.h"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/gateway/s3/errors.h"

namespace mosaic::gateway {
namespace {

constexpr std::string_view kCheck = "123456789";

struct KnownAnswer {
  ChecksumAlgorithm alg;
  std::string_view base64;
};

// The "123456789" check values: CRC32 0xCBF43926, CRC32C 0xE3069283, CRC-64/NVME
// 0xAE8B14860A799888, and the SHA-1 / SHA-256 / MD5 digests, as base64 of big-endian bytes.
constexpr KnownAnswer kKnownAnswers[] = {
    {ChecksumAlgorithm::kCrc32, "y/Q5Jg=="},
    {ChecksumAlgorithm::kCrc32c, "4waSgw=="},
    {ChecksumAlgorithm::kCrc64Nvme, "rosUhgp5mIg="},
    {ChecksumAlgorithm::kSha1, "98O8HYCOBHMq32eZZczDTKeuNEE="},
    {ChecksumAlgorithm::kSha256, "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU="},
    {ChecksumAlgorithm::kMd5, "JfnnlDI7RTiF9RgfG2JNCw=="},
};

TEST(ChecksumTest, CheckValuesOfEveryAlgorithm) {
  for (const auto& ka : kKnownAnswers) {
    SCOPED_TRACE(std::string(NameOf(ka.alg)));
    Checksummer c(ka.alg);
    c.Update(kCheck);
    EXPECT_EQ(c.DigestBase64(), ka.base64);
    EXPECT_EQ(c.Digest().size(), DigestSizeOf(ka.alg));
    EXPECT_EQ(Base64Encode(ComputeDigest(ka.alg, kCheck)), ka.base64);
  }
}

TEST(ChecksumTest, Crc64NvmeCheckValue) {
  EXPECT_EQ(Crc64Nvme(kCheck), 0xae8b14860a799888ULL);
  EXPECT_EQ(Crc64Nvme(""), 0u);
  EXPECT_EQ(Crc64NvmeExtend(Crc64Nvme("1234"), "56789"), 0xae8b14860a799888ULL);
}

TEST(ChecksumTest, EmptyInputDigests) {
  EXPECT_EQ(Base64Encode(ComputeDigest(ChecksumAlgorithm::kCrc32, "")), "AAAAAA==");
  EXPECT_EQ(Base64Encode(ComputeDigest(ChecksumAlgorithm::kMd5, "")), "1B2M2Y8AsgTpgAmY7PhCfg==");
}

TEST(ChecksumTest, IncrementalEqualsOneShotForEverySplit) {
  std::mt19937 rng(7);
  std::string data(3000, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (const auto& ka : kKnownAnswers) {
    SCOPED_TRACE(std::string(NameOf(ka.alg)));
    std::string whole = ComputeDigest(ka.alg, data);
    for (size_t split : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{999}, data.size()}) {
      Checksummer c(ka.alg);
      c.Update(std::string_view(data).substr(0, split));
      c.Update(std::string_view(data).substr(split));
      EXPECT_EQ(c.Digest(), whole) << split;
    }
    Checksummer bytewise(ka.alg);
    for (char ch : data) bytewise.Update(std::string_view(&ch, 1));
    EXPECT_EQ(bytewise.Digest(), whole);
  }
}

TEST(ChecksumTest, DigestDoesNotResetTheRunningState) {
  Checksummer c(ChecksumAlgorithm::kSha256);
  c.Update("1234");
  std::string partial = c.Digest();
  EXPECT_EQ(partial, c.Digest());
  c.Update("56789");
  EXPECT_EQ(c.DigestBase64(), "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU=");
}

TEST(ChecksumTest, MovedChecksummerKeepsItsState) {
  Checksummer a(ChecksumAlgorithm::kSha1);
  a.Update("12345");
  Checksummer b = std::move(a);
  b.Update("6789");
  EXPECT_EQ(b.DigestBase64(), "98O8HYCOBHMq32eZZczDTKeuNEE=");
}

TEST(ChecksumTest, NamesAndHeaders) {
  EXPECT_EQ(AlgorithmFromName("crc64nvme"), ChecksumAlgorithm::kCrc64Nvme);
  EXPECT_EQ(AlgorithmFromName("CRC32C"), ChecksumAlgorithm::kCrc32c);
  EXPECT_EQ(AlgorithmFromName("SHA512"), std::nullopt);
  EXPECT_EQ(AlgorithmFromHeaderName("x-amz-checksum-sha256"), ChecksumAlgorithm::kSha256);
  EXPECT_EQ(AlgorithmFromHeaderName("content-md5"), std::nullopt);
  EXPECT_EQ(AlgorithmFromHeaderName("x-amz-checksum-algorithm"), std::nullopt);
  EXPECT_EQ(HeaderNameOf(ChecksumAlgorithm::kCrc32), "x-amz-checksum-crc32");
  EXPECT_EQ(HeaderNameOf(ChecksumAlgorithm::kMd5), "content-md5");
}

TEST(ChecksumTest, Base64RoundTripsEveryLength) {
  std::string bytes;
  for (int i = 0; i < 40; ++i) {
    auto decoded = Base64Decode(Base64Encode(bytes));
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(*decoded, bytes);
    bytes.push_back(static_cast<char>(i * 37 + 200));
  }
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
}

TEST(ChecksumTest, Base64RejectsMalformedText) {
  for (std::string_view bad :
       {"Zg=", "Zg", "Z===", "====", "Zm9v\n", "Zm 9", "Z=9v", "Zm9v====x", "Zg==Zg==", "Zm-_"}) {
    EXPECT_FALSE(Base64Decode(bad).ok()) << bad;
  }
  EXPECT_TRUE(Base64Decode("").ok());
}

TEST(ChecksumTest, VerifyDigestGivesS3Codes) {
  std::string md5 = ComputeDigest(ChecksumAlgorithm::kMd5, kCheck);
  EXPECT_TRUE(VerifyDigest(ChecksumAlgorithm::kMd5, "JfnnlDI7RTiF9RgfG2JNCw==", md5).ok());
  EXPECT_EQ(CodeOf(VerifyDigest(ChecksumAlgorithm::kMd5, "1B2M2Y8AsgTpgAmY7PhCfg==", md5)),
            S3Code::kBadDigest);
  EXPECT_EQ(CodeOf(VerifyDigest(ChecksumAlgorithm::kMd5, "not base64", md5)),
            S3Code::kInvalidDigest);
  EXPECT_EQ(CodeOf(VerifyDigest(ChecksumAlgorithm::kMd5, "y/Q5Jg==", md5)),  // 4 bytes
            S3Code::kInvalidDigest);
  std::string crc = ComputeDigest(ChecksumAlgorithm::kCrc32, kCheck);
  EXPECT_TRUE(VerifyDigest(ChecksumAlgorithm::kCrc32, "y/Q5Jg==", crc).ok());
  EXPECT_EQ(CodeOf(VerifyDigest(ChecksumAlgorithm::kCrc32, "y/Q5Jw==", crc)), S3Code::kBadDigest);
  EXPECT_EQ(CodeOf(VerifyDigest(ChecksumAlgorithm::kCrc32, "rosUhgp5mIg=", crc)),
            S3Code::kInvalidRequest);
}

constexpr ChecksumAlgorithm kCrcs[] = {ChecksumAlgorithm::kCrc32, ChecksumAlgorithm::kCrc32c,
                                       ChecksumAlgorithm::kCrc64Nvme};

TEST(ChecksumTest, OnlyTheCrcsCombine) {
  for (ChecksumAlgorithm alg : kCrcs) EXPECT_TRUE(IsCrc(alg)) << NameOf(alg);
  for (ChecksumAlgorithm alg :
       {ChecksumAlgorithm::kSha1, ChecksumAlgorithm::kSha256, ChecksumAlgorithm::kMd5}) {
    EXPECT_FALSE(IsCrc(alg)) << NameOf(alg);
  }
}

TEST(ChecksumTest, CombineCrcOfKnownSplit) {
  // "1234" ‖ "56789" must give the check values.
  EXPECT_EQ(Base64Encode(CombineCrcDigests(ChecksumAlgorithm::kCrc32,
                                           ComputeDigest(ChecksumAlgorithm::kCrc32, "1234"),
                                           ComputeDigest(ChecksumAlgorithm::kCrc32, "56789"), 5)),
            "y/Q5Jg==");
  EXPECT_EQ(CombineCrc(ChecksumAlgorithm::kCrc64Nvme, Crc64Nvme("1234"), Crc64Nvme("56789"), 5),
            0xae8b14860a799888ULL);
  EXPECT_EQ(CombineCrc(ChecksumAlgorithm::kCrc32c, 0xe3069283, 0, 0), 0xe3069283u);
}

// Against the Checksummer over random data cut at random places into up to 8 pieces, for
// every CRC: folding the pieces' CRCs with their lengths gives the CRC of the whole.
TEST(ChecksumTest, CombineCrcEqualsChecksummerOverRandomSplits) {
  std::mt19937_64 rng(2026);
  std::string data(200000, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (ChecksumAlgorithm alg : kCrcs) {
    SCOPED_TRACE(std::string(NameOf(alg)));
    for (int trial = 0; trial < 40; ++trial) {
      size_t length = rng() % (data.size() + 1);
      std::string_view whole = std::string_view(data).substr(0, length);
      std::vector<size_t> cuts = {0, length};
      for (size_t n = rng() % 8; n > 0; --n) cuts.push_back(length == 0 ? 0 : rng() % length);
      std::sort(cuts.begin(), cuts.end());
      std::string combined = ComputeDigest(alg, "");
      for (size_t i = 0; i + 1 < cuts.size(); ++i) {
        std::string_view piece = whole.substr(cuts[i], cuts[i + 1] - cuts[i]);
        combined = CombineCrcDigests(alg, combined, ComputeDigest(alg, piece), piece.size());
      }
      EXPECT_EQ(combined, ComputeDigest(alg, whole)) << "trial " << trial << " length " << length;
    }
  }
}

TEST(ChecksumTest, CombineCrcHandlesHugeLengths) {
  // A run of zeros computed byte-wise agrees with the combine; lengths far past 32 bits work.
  std::string zeros(1 << 16, '\0');
  for (ChecksumAlgorithm alg : kCrcs) {
    SCOPED_TRACE(std::string(NameOf(alg)));
    Checksummer whole(alg);
    whole.Update("abc");
    whole.Update(zeros);
    EXPECT_EQ(
        CombineCrcDigests(alg, ComputeDigest(alg, "abc"), ComputeDigest(alg, zeros), zeros.size()),
        whole.Digest());
    // Lengths past 4 GiB: combining is associative, (a·b)·c == a·(b·c) with the lengths added.
    uint64_t a = 0x12345678, b = 0x9abcdef0, c = 0x0fedcba9;
    uint64_t n1 = (uint64_t{5} << 40) + 3, n2 = (uint64_t{1} << 33) + 77;
    EXPECT_EQ(CombineCrc(alg, CombineCrc(alg, a, b, n1), c, n2),
              CombineCrc(alg, a, CombineCrc(alg, b, c, n2), n1 + n2));
  }
}

}  // namespace
}  // namespace mosaic::gateway
