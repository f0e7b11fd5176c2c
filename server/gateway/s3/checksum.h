#pragma once
// Checksums S3 clients send with object data: Content-MD5, the x-amz-checksum-<alg> headers
// and the same values as aws-chunked trailers. Every value travels as base64 of the digest,
// CRCs in big-endian byte order ("123456789" -> CRC32 0xCBF43926 -> "y/Q5Jg==").
//
// CRC32 (zlib's) and CRC32C run on ISA-L, CRC-64/NVME on our own slice-by-8 table (ISA-L 2.30
// has no NVMe polynomial), SHA-1, SHA-256 and MD5 on OpenSSL's EVP. All functions here are
// thread-safe; a Checksummer is used by one thread at a time.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mosaic::gateway {

enum class ChecksumAlgorithm { kCrc32, kCrc32c, kCrc64Nvme, kSha1, kSha256, kMd5 };

// "CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256", "MD5": the names S3 uses in
// x-amz-checksum-algorithm / x-amz-sdk-checksum-algorithm and in XML.
std::string_view NameOf(ChecksumAlgorithm alg);

// The header carrying a value of `alg`: "x-amz-checksum-crc32", …; "content-md5" for kMd5.
std::string_view HeaderNameOf(ChecksumAlgorithm alg);

// The algorithm of a name as NameOf gives it, case-insensitively; nullopt when unknown.
std::optional<ChecksumAlgorithm> AlgorithmFromName(std::string_view name);

// The algorithm of a lower-case x-amz-checksum-<alg> header name (not content-md5, which
// is not a checksum S3 stores); nullopt for any other name.
std::optional<ChecksumAlgorithm> AlgorithmFromHeaderName(std::string_view lower_name);

// Digest size in bytes: 4, 4, 8, 20, 32, 16.
size_t DigestSizeOf(ChecksumAlgorithm alg);

// Incremental digest of one algorithm. Move-only.
class Checksummer {
 public:
  explicit Checksummer(ChecksumAlgorithm alg);
  ~Checksummer();
  Checksummer(Checksummer&&) noexcept;
  Checksummer& operator=(Checksummer&&) noexcept;
  Checksummer(const Checksummer&) = delete;
  Checksummer& operator=(const Checksummer&) = delete;

  ChecksumAlgorithm algorithm() const { return alg_; }

  // Adds `data` (any size, including empty) to the digest.
  void Update(std::string_view data);

  // The digest of everything added (DigestSizeOf bytes, CRCs big-endian). Does not reset:
  // calling it again without Update gives the same value.
  std::string Digest() const;

  // Base64 of Digest(): the form headers and trailers carry.
  std::string DigestBase64() const;

 private:
  struct Evp;
  ChecksumAlgorithm alg_;
  uint64_t crc_ = 0;
  std::unique_ptr<Evp> evp_;  // SHA-1, SHA-256, MD5
};

// One-shot digest of `data` (raw bytes).
std::string ComputeDigest(ChecksumAlgorithm alg, std::string_view data);

// CRC-64/NVME (poly 0xad93d23594c93659 reflected, init and xorout ~0): Crc64Nvme("123456789")
// == 0xae8b14860a799888. Extend continues it: Crc64NvmeExtend(Crc64Nvme(a), b) == Crc64Nvme(a‖b).
uint64_t Crc64Nvme(std::string_view data);
uint64_t Crc64NvmeExtend(uint64_t crc, std::string_view data);

// Whether `alg` is one of the CRCs (kCrc32, kCrc32c, kCrc64Nvme): the algorithms whose
// values combine (CombineCrc) into a FULL_OBJECT checksum of a multipart object.
bool IsCrc(ChecksumAlgorithm alg);

// The CRC of A‖B from crc_a = CRC(A), crc_b = CRC(B) and length_b = |B| bytes, for a CRC
// algorithm (CHECKed): crc_a multiplied by x^(8·length_b) modulo the polynomial, xor crc_b.
// CRC values as integers (the big-endian digest read as a number). O(log length_b).
uint64_t CombineCrc(ChecksumAlgorithm alg, uint64_t crc_a, uint64_t crc_b, uint64_t length_b);

// The same on raw digests (DigestSizeOf(alg) bytes each, CHECKed): the digest of A‖B.
std::string CombineCrcDigests(ChecksumAlgorithm alg, std::string_view digest_a,
                              std::string_view digest_b, uint64_t length_b);

// Standard base64 (RFC 4648, '+' '/' with '=' padding).
std::string Base64Encode(std::string_view bytes);

// Decodes standard padded base64; INVALID_ARGUMENT for a length that is not a multiple of
// 4, a character outside the alphabet, misplaced padding or whitespace.
absl::StatusOr<std::string> Base64Decode(std::string_view text);

// Checks a client's base64 value for `alg` against the `digest` we computed. Errors:
// a value that does not decode to DigestSizeOf(alg) bytes -> InvalidDigest for kMd5,
// InvalidRequest otherwise; a different digest -> BadDigest. Both carry the S3 code.
absl::Status VerifyDigest(ChecksumAlgorithm alg, std::string_view expected_base64,
                          std::string_view digest);

// Parses a client's base64 value for `alg` to raw digest bytes, with the errors of
// VerifyDigest for a malformed value.
absl::StatusOr<std::string> ParseDigest(ChecksumAlgorithm alg, std::string_view value_base64);

}  // namespace mosaic::gateway
