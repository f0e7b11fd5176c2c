#include "server/gateway/s3/checksum.h"

#include <isa-l/crc.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "common/bytes.h"
#include "common/check.h"
#include "common/crc32c.h"
#include "server/gateway/s3/errors.h"

namespace mosaic::gateway {
namespace {

struct AlgorithmInfo {
  ChecksumAlgorithm alg;
  std::string_view name;
  std::string_view header;
  size_t digest_size;
};

constexpr AlgorithmInfo kAlgorithms[] = {
    {ChecksumAlgorithm::kCrc32, "CRC32", "x-amz-checksum-crc32", 4},
    {ChecksumAlgorithm::kCrc32c, "CRC32C", "x-amz-checksum-crc32c", 4},
    {ChecksumAlgorithm::kCrc64Nvme, "CRC64NVME", "x-amz-checksum-crc64nvme", 8},
    {ChecksumAlgorithm::kSha1, "SHA1", "x-amz-checksum-sha1", 20},
    {ChecksumAlgorithm::kSha256, "SHA256", "x-amz-checksum-sha256", 32},
    {ChecksumAlgorithm::kMd5, "MD5", "content-md5", 16},
};

const AlgorithmInfo& InfoOf(ChecksumAlgorithm alg) {
  for (const auto& info : kAlgorithms) {
    if (info.alg == alg) return info;
  }
  CHECK(false);
  return kAlgorithms[0];
}

// CRC-64/NVME, reflected: the table holds the reflected polynomial's remainders, and slice-by-8
// folds eight input bytes per step through eight derived tables.
constexpr uint64_t kCrc64NvmeReflectedPoly = 0x9a6c9329ac4bc9b5ULL;

using Crc64Tables = std::array<std::array<uint64_t, 256>, 8>;

constexpr Crc64Tables MakeCrc64Tables() {
  Crc64Tables t{};
  for (uint64_t i = 0; i < 256; ++i) {
    uint64_t crc = i;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 1) ? (crc >> 1) ^ kCrc64NvmeReflectedPoly : crc >> 1;
    }
    t[0][i] = crc;
  }
  for (size_t k = 1; k < 8; ++k) {
    for (size_t i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
  }
  return t;
}

constexpr Crc64Tables kCrc64Tables = MakeCrc64Tables();

// The raw (uninverted) register update.
uint64_t Crc64Raw(uint64_t crc, const unsigned char* p, size_t n) {
  const auto& t = kCrc64Tables;
  for (; n >= 8; n -= 8, p += 8) {
    crc ^= LoadLE64(reinterpret_cast<const std::byte*>(p));
    crc = t[7][crc & 0xff] ^ t[6][(crc >> 8) & 0xff] ^ t[5][(crc >> 16) & 0xff] ^
          t[4][(crc >> 24) & 0xff] ^ t[3][(crc >> 32) & 0xff] ^ t[2][(crc >> 40) & 0xff] ^
          t[1][(crc >> 48) & 0xff] ^ t[0][crc >> 56];
  }
  for (; n > 0; --n, ++p) crc = (crc >> 8) ^ t[0][(crc ^ *p) & 0xff];
  return crc;
}

const EVP_MD* EvpOf(ChecksumAlgorithm alg) {
  switch (alg) {
    case ChecksumAlgorithm::kSha1:
      return EVP_sha1();
    case ChecksumAlgorithm::kSha256:
      return EVP_sha256();
    case ChecksumAlgorithm::kMd5:
      return EVP_md5();
    default:
      return nullptr;
  }
}

std::string BigEndian(uint64_t v, size_t bytes) {
  std::string out(bytes, '\0');
  for (size_t i = 0; i < bytes; ++i) out[bytes - 1 - i] = char((v >> (8 * i)) & 0xff);
  return out;
}

// The CRCs as polynomials over GF(2), in the reflected bit order the registers use: bit
// (width-1) holds the coefficient of x^0, bit 0 that of x^(width-1).
struct CrcPoly {
  int width;
  uint64_t reflected_poly;
};

CrcPoly PolyOf(ChecksumAlgorithm alg) {
  switch (alg) {
    case ChecksumAlgorithm::kCrc32:
      return {32, 0xedb88320ULL};
    case ChecksumAlgorithm::kCrc32c:
      return {32, 0x82f63b78ULL};
    case ChecksumAlgorithm::kCrc64Nvme:
      return {64, kCrc64NvmeReflectedPoly};
    default:
      CHECK(false);
      return {0, 0};
  }
}

// a·b mod P. Walks a's coefficients from x^0 upwards while b is multiplied by x at each step
// (one right shift in the reflected order; when the x^(width-1) coefficient, bit 0, shifts out,
// x^width is reduced by adding P's lower terms).
uint64_t MulMod(const CrcPoly& p, uint64_t a, uint64_t b) {
  uint64_t product = 0;
  for (int i = p.width - 1; i >= 0; --i) {
    if ((a >> i) & 1) product ^= b;
    b = (b & 1) ? (b >> 1) ^ p.reflected_poly : b >> 1;
  }
  return product;
}

// x^(8·2^k) mod P for k = 0..63: x^8, then repeated squaring.
std::array<uint64_t, 64> ByteShiftPowers(const CrcPoly& p) {
  std::array<uint64_t, 64> powers{};
  powers[0] = uint64_t{1} << (p.width - 1 - 8);  // x^8
  for (size_t k = 1; k < powers.size(); ++k) powers[k] = MulMod(p, powers[k - 1], powers[k - 1]);
  return powers;
}

const std::array<uint64_t, 64>& PowersOf(ChecksumAlgorithm alg) {
  static const std::array<uint64_t, 64> crc32 = ByteShiftPowers(PolyOf(ChecksumAlgorithm::kCrc32));
  static const std::array<uint64_t, 64> crc32c =
      ByteShiftPowers(PolyOf(ChecksumAlgorithm::kCrc32c));
  static const std::array<uint64_t, 64> crc64 =
      ByteShiftPowers(PolyOf(ChecksumAlgorithm::kCrc64Nvme));
  switch (alg) {
    case ChecksumAlgorithm::kCrc32:
      return crc32;
    case ChecksumAlgorithm::kCrc32c:
      return crc32c;
    default:
      return crc64;
  }
}

uint64_t FromBigEndian(std::string_view bytes) {
  uint64_t v = 0;
  for (char c : bytes) v = (v << 8) | uint8_t(c);
  return v;
}

constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string_view NameOf(ChecksumAlgorithm alg) { return InfoOf(alg).name; }
std::string_view HeaderNameOf(ChecksumAlgorithm alg) { return InfoOf(alg).header; }
size_t DigestSizeOf(ChecksumAlgorithm alg) { return InfoOf(alg).digest_size; }

std::optional<ChecksumAlgorithm> AlgorithmFromName(std::string_view name) {
  for (const auto& info : kAlgorithms) {
    if (info.name.size() == name.size() &&
        std::equal(name.begin(), name.end(), info.name.begin(), [](char a, char b) {
          return std::toupper(static_cast<unsigned char>(a)) == b;
        })) {
      return info.alg;
    }
  }
  return std::nullopt;
}

std::optional<ChecksumAlgorithm> AlgorithmFromHeaderName(std::string_view lower_name) {
  for (const auto& info : kAlgorithms) {
    if (info.alg != ChecksumAlgorithm::kMd5 && info.header == lower_name) return info.alg;
  }
  return std::nullopt;
}

struct Checksummer::Evp {
  EVP_MD_CTX* ctx = nullptr;
  ~Evp() { EVP_MD_CTX_free(ctx); }
};

Checksummer::Checksummer(ChecksumAlgorithm alg) : alg_(alg) {
  if (const EVP_MD* md = EvpOf(alg)) {
    evp_ = std::make_unique<Evp>();
    evp_->ctx = EVP_MD_CTX_new();
    CHECK(evp_->ctx != nullptr);
    CHECK(EVP_DigestInit_ex(evp_->ctx, md, nullptr) == 1);
  }
}

Checksummer::~Checksummer() = default;
Checksummer::Checksummer(Checksummer&&) noexcept = default;
Checksummer& Checksummer::operator=(Checksummer&&) noexcept = default;

void Checksummer::Update(std::string_view data) {
  if (evp_) {
    CHECK(EVP_DigestUpdate(evp_->ctx, data.data(), data.size()) == 1);
    return;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  switch (alg_) {
    case ChecksumAlgorithm::kCrc32:
      crc_ = crc32_gzip_refl(static_cast<uint32_t>(crc_), p, data.size());
      break;
    case ChecksumAlgorithm::kCrc32c:
      // ISA-L's crc32_iscsi takes an int length: feed it in pieces well below that.
      for (size_t off = 0; off < data.size(); off += 1 << 30) {
        size_t n = std::min<size_t>(data.size() - off, size_t{1} << 30);
        crc_ = Crc32cExtend(static_cast<uint32_t>(crc_), AsBytes(data.substr(off, n)));
      }
      break;
    case ChecksumAlgorithm::kCrc64Nvme:
      crc_ = Crc64NvmeExtend(crc_, data);
      break;
    default:
      CHECK(false);
  }
}

std::string Checksummer::Digest() const {
  if (evp_) {
    // Finalise a copy, so the running context stays usable.
    EVP_MD_CTX* copy = EVP_MD_CTX_new();
    CHECK(copy != nullptr && EVP_MD_CTX_copy_ex(copy, evp_->ctx) == 1);
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    CHECK(EVP_DigestFinal_ex(copy, out, &len) == 1);
    EVP_MD_CTX_free(copy);
    return std::string(reinterpret_cast<const char*>(out), len);
  }
  return BigEndian(crc_, DigestSizeOf(alg_));
}

std::string Checksummer::DigestBase64() const { return Base64Encode(Digest()); }

std::string ComputeDigest(ChecksumAlgorithm alg, std::string_view data) {
  Checksummer c(alg);
  c.Update(data);
  return c.Digest();
}

uint64_t Crc64NvmeExtend(uint64_t crc, std::string_view data) {
  return ~Crc64Raw(~crc, reinterpret_cast<const unsigned char*>(data.data()), data.size());
}

uint64_t Crc64Nvme(std::string_view data) { return Crc64NvmeExtend(0, data); }

bool IsCrc(ChecksumAlgorithm alg) {
  return alg == ChecksumAlgorithm::kCrc32 || alg == ChecksumAlgorithm::kCrc32c ||
         alg == ChecksumAlgorithm::kCrc64Nvme;
}

// With init and xorout both all ones, a CRC is affine in its input: running the register
// over B from state r gives L^n(r) xor f(B), where L^n multiplies by x^(8n) mod P. Writing
// crc(A) = ~r_A, crc(A‖B) xor crc(B) = L^n(r_A) xor L^n(~0) = L^n(crc(A)).
uint64_t CombineCrc(ChecksumAlgorithm alg, uint64_t crc_a, uint64_t crc_b, uint64_t length_b) {
  CHECK(IsCrc(alg));
  const CrcPoly p = PolyOf(alg);
  const auto& powers = PowersOf(alg);
  uint64_t shifted = crc_a;
  for (size_t k = 0; length_b != 0; ++k, length_b >>= 1) {
    if (length_b & 1) shifted = MulMod(p, powers[k], shifted);
  }
  return shifted ^ crc_b;
}

std::string CombineCrcDigests(ChecksumAlgorithm alg, std::string_view digest_a,
                              std::string_view digest_b, uint64_t length_b) {
  CHECK(IsCrc(alg) && digest_a.size() == DigestSizeOf(alg) && digest_b.size() == DigestSizeOf(alg));
  uint64_t crc = CombineCrc(alg, FromBigEndian(digest_a), FromBigEndian(digest_b), length_b);
  return BigEndian(crc, DigestSizeOf(alg));
}

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = uint32_t(uint8_t(bytes[i])) << 16 | uint32_t(uint8_t(bytes[i + 1])) << 8 |
                 uint8_t(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kBase64Alphabet[(v >> s) & 63]);
  }
  size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t(uint8_t(bytes[i])) << 16;
    if (rest == 2) v |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kBase64Alphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

absl::StatusOr<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0)
    return absl::InvalidArgumentError("base64 length is not a multiple of 4");
  size_t pad = 0;
  if (!text.empty() && text.back() == '=') pad = (text[text.size() - 2] == '=') ? 2 : 1;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    uint32_t v = 0;
    for (size_t j = 0; j < 4; ++j) {
      char c = text[i + j];
      int d = (last && j >= 4 - pad) ? 0 : Base64Value(c);
      if (d < 0) return absl::InvalidArgumentError("invalid base64 character");
      v = (v << 6) | uint32_t(d);
    }
    out.push_back(char(v >> 16));
    if (!last || pad < 2) out.push_back(char((v >> 8) & 0xff));
    if (!last || pad < 1) out.push_back(char(v & 0xff));
  }
  return out;
}

absl::StatusOr<std::string> ParseDigest(ChecksumAlgorithm alg, std::string_view value_base64) {
  absl::StatusOr<std::string> digest = Base64Decode(value_base64);
  if (!digest.ok() || digest->size() != DigestSizeOf(alg)) {
    if (alg == ChecksumAlgorithm::kMd5) return S3Error(S3Code::kInvalidDigest);
    return S3Error(S3Code::kInvalidRequest,
                   "Value for " + std::string(HeaderNameOf(alg)) + " header is invalid.");
  }
  return digest;
}

absl::Status VerifyDigest(ChecksumAlgorithm alg, std::string_view expected_base64,
                          std::string_view digest) {
  absl::StatusOr<std::string> expected = ParseDigest(alg, expected_base64);
  if (!expected.ok()) return expected.status();
  if (*expected != digest) {
    if (alg == ChecksumAlgorithm::kMd5) return S3Error(S3Code::kBadDigest);
    return S3Error(S3Code::kBadDigest, "The " + std::string(NameOf(alg)) +
                                           " you specified did not match the calculated checksum.");
  }
  return absl::OkStatus();
}

}  // namespace mosaic::gateway
