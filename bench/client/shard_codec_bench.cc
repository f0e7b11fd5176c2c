// Sealing and shard codec benchmarks (issue 3), each next to its raw library call in the
// same process:
//
//   BM_Seal_Mosaic/ALG/SIZE, BM_Open_Mosaic/ALG/SIZE    ShardSealer on one shard
//   BM_Seal_RawEvp/AES256GCM/SIZE, BM_Open_RawEvp/...   OpenSSL EVP AES-256-GCM, one context
//   BM_Seal_RawSodium/ALG/SIZE, BM_Open_RawSodium/...   libsodium's AES-256-GCM / XChaCha20
//   BM_ShardCodecEncode_Mosaic/K+M/ALG                  EncodeStripe of a 4 MiB stripe
//   BM_ShardCodecEncode_RawParts/K+M/AES256GCM          raw ec_encode_data + n raw EVP seals
//   BM_ShardCodecDecode_Mosaic/K+M/ALG/LOST             DecodeStripe, LOST data shards missing
//   BM_ShardCodecDecode_RawParts/K+M/AES256GCM/LOST     k raw EVP opens (+ raw decode)
//
// Bytes processed are plaintext bytes (one shard, or one stripe). Ratios print at the end.

#include <benchmark/benchmark.h>
#include <isa-l/erasure_code.h>
#include <openssl/evp.h>
#include <sodium.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/ratio_reporter.h"
#include "client/crypto/key_ring.h"
#include "client/crypto/shard_sealer.h"
#include "client/pipeline/shard_codec.h"
#include "common/aligned_buffer.h"
#include "common/check.h"

namespace mosaic::bench {
namespace {

using client::SealAlgorithm;

constexpr size_t kShardBytes = size_t{1} << 20;
constexpr uint64_t kStripeBytes = client::kDefaultStripeBytes;
constexpr size_t kTag = client::kSealTagBytes;
constexpr unsigned char kNonce[24] = {1, 2, 3};
constexpr unsigned char kAad[client::kShardAadBytes] = {1};

const char* AlgName(SealAlgorithm a) {
  return a == SealAlgorithm::kAes256Gcm ? "AES256GCM" : "XChaCha20Poly1305";
}

AlignedBuffer RandomBuffer(size_t size, uint32_t seed) {
  AlignedBuffer buffer(size, 64);
  std::mt19937 rng(seed);
  for (auto& b : buffer.span()) b = std::byte(rng());
  return buffer;
}

client::SecretBytes Key() { return client::SecretBytes::Random(client::kKeyBytes); }

unsigned char* U(std::byte* p) { return reinterpret_cast<unsigned char*>(p); }
const unsigned char* U(const std::byte* p) { return reinterpret_cast<const unsigned char*>(p); }

// Raw OpenSSL: what ShardSealer's AES path costs without any of our code.
void RawEvpSeal(EVP_CIPHER_CTX* ctx, const unsigned char* key, ConstByteSpan in, ByteSpan out) {
  int len = 0;
  CHECK(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key, kNonce) == 1);
  CHECK(EVP_EncryptUpdate(ctx, nullptr, &len, kAad, sizeof(kAad)) == 1);
  CHECK(EVP_EncryptUpdate(ctx, U(out.data()), &len, U(in.data()), int(in.size())) == 1);
  CHECK(EVP_EncryptFinal_ex(ctx, U(out.data()) + len, &len) == 1);
  CHECK(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTag, out.data() + in.size()) == 1);
}

void RawEvpOpen(EVP_CIPHER_CTX* ctx, const unsigned char* key, ConstByteSpan in, ByteSpan out) {
  int len = 0;
  const size_t n = in.size() - kTag;
  CHECK(EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key, kNonce) == 1);
  CHECK(EVP_DecryptUpdate(ctx, nullptr, &len, kAad, sizeof(kAad)) == 1);
  CHECK(EVP_DecryptUpdate(ctx, U(out.data()), &len, U(in.data()), int(n)) == 1);
  CHECK(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTag,
                            const_cast<std::byte*>(in.data() + n)) == 1);
  CHECK(EVP_DecryptFinal_ex(ctx, U(out.data()) + len, &len) == 1);
}

void SetBytes(benchmark::State& state, size_t bytes) {
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(bytes));
}

client::ShardSealer MakeSealer(SealAlgorithm algorithm) {
  return std::move(client::ShardSealer::Create(algorithm, Key(), client::ObjectId{}, 4, 2)).value();
}

void BM_Seal_Mosaic(benchmark::State& state, SealAlgorithm algorithm) {
  const client::ShardSealer sealer = MakeSealer(algorithm);
  AlignedBuffer in = RandomBuffer(kShardBytes, 1), out(kShardBytes + kTag, 64);
  const client::ShardPlace place{.stripe = 1, .shard_index = 2};
  for (auto _ : state) CHECK(sealer.Seal(place, in.span(), out.span()).ok());
  SetBytes(state, kShardBytes);
}

void BM_Open_Mosaic(benchmark::State& state, SealAlgorithm algorithm) {
  const client::ShardSealer sealer = MakeSealer(algorithm);
  AlignedBuffer in = RandomBuffer(kShardBytes, 1), sealed(kShardBytes + kTag, 64);
  const client::ShardPlace place{.stripe = 1, .shard_index = 2};
  CHECK(sealer.Seal(place, in.span(), sealed.span()).ok());
  for (auto _ : state) CHECK(sealer.Open(place, sealed.span(), in.span()).ok());
  SetBytes(state, kShardBytes);
}

void BM_Seal_RawEvp(benchmark::State& state) {
  const client::SecretBytes key = Key();
  AlignedBuffer in = RandomBuffer(kShardBytes, 1), out(kShardBytes + kTag, 64);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  for (auto _ : state) RawEvpSeal(ctx, key.uchar(), in.span(), out.span());
  EVP_CIPHER_CTX_free(ctx);
  SetBytes(state, kShardBytes);
}

void BM_Open_RawEvp(benchmark::State& state) {
  const client::SecretBytes key = Key();
  AlignedBuffer in = RandomBuffer(kShardBytes, 1), sealed(kShardBytes + kTag, 64);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  RawEvpSeal(ctx, key.uchar(), in.span(), sealed.span());
  for (auto _ : state) RawEvpOpen(ctx, key.uchar(), sealed.span(), in.span());
  EVP_CIPHER_CTX_free(ctx);
  SetBytes(state, kShardBytes);
}

void BM_Seal_RawSodium(benchmark::State& state, SealAlgorithm algorithm) {
  const client::SecretBytes key = Key();
  AlignedBuffer in = RandomBuffer(kShardBytes, 1), out(kShardBytes + kTag, 64);
  unsigned long long len = 0;
  for (auto _ : state) {
    const int rc =
        algorithm == SealAlgorithm::kAes256Gcm
            ? crypto_aead_aes256gcm_encrypt(U(out.data()), &len, U(in.data()), kShardBytes, kAad,
                                            sizeof(kAad), nullptr, kNonce, key.uchar())
            : crypto_aead_xchacha20poly1305_ietf_encrypt(U(out.data()), &len, U(in.data()),
                                                         kShardBytes, kAad, sizeof(kAad), nullptr,
                                                         kNonce, key.uchar());
    CHECK(rc == 0);
  }
  SetBytes(state, kShardBytes);
}

void BM_Open_RawSodium(benchmark::State& state, SealAlgorithm algorithm) {
  const client::SecretBytes key = Key();
  AlignedBuffer in = RandomBuffer(kShardBytes, 1), sealed(kShardBytes + kTag, 64);
  const bool aes = algorithm == SealAlgorithm::kAes256Gcm;
  unsigned long long len = 0;
  auto open = aes ? crypto_aead_aes256gcm_decrypt : crypto_aead_xchacha20poly1305_ietf_decrypt;
  auto seal = aes ? crypto_aead_aes256gcm_encrypt : crypto_aead_xchacha20poly1305_ietf_encrypt;
  CHECK(seal(U(sealed.data()), &len, U(in.data()), kShardBytes, kAad, sizeof(kAad), nullptr, kNonce,
             key.uchar()) == 0);
  for (auto _ : state) {
    CHECK(open(U(in.data()), &len, nullptr, U(sealed.data()), sealed.size(), kAad, sizeof(kAad),
               kNonce, key.uchar()) == 0);
  }
  SetBytes(state, kShardBytes);
}

// ---------------------------------------------------------------------------------------
// The whole shard codec on 4 MiB stripes.

struct StripeFixture {
  StripeFixture(int k, int m, SealAlgorithm algorithm)
      : ring(std::move(client::KeyRing::FromMasterKey(Key())).value()),
        codec(std::move(client::ShardCodec::Create({k, m, kStripeBytes, algorithm}, ring, Key(),
                                                   client::NewObjectId()))
                  .value()),
        plaintext(RandomBuffer(kStripeBytes, 2)) {
    const size_t sealed_bytes = codec->SealedShardBytes(kStripeBytes);
    for (int i = 0; i < k + m; ++i) {
      shards.emplace_back(sealed_bytes, 64);
      spans.push_back(shards.back().span());
    }
  }
  client::StripeInfo stripe{.index = 0, .plaintext_bytes = kStripeBytes, .last = false};
  client::KeyRing ring;
  std::unique_ptr<client::ShardCodec> codec;
  AlignedBuffer plaintext;
  std::vector<AlignedBuffer> shards;
  std::vector<ByteSpan> spans;
};

void BM_ShardCodecEncode_Mosaic(benchmark::State& state, int k, int m, SealAlgorithm algorithm) {
  StripeFixture f(k, m, algorithm);
  for (auto _ : state) CHECK(f.codec->EncodeStripe(f.stripe, f.plaintext.span(), f.spans).ok());
  SetBytes(state, kStripeBytes);
}

void BM_ShardCodecDecode_Mosaic(benchmark::State& state, int k, int m, SealAlgorithm algorithm,
                                int lost) {
  StripeFixture f(k, m, algorithm);
  CHECK(f.codec->EncodeStripe(f.stripe, f.plaintext.span(), f.spans).ok());
  std::vector<ConstByteSpan> sealed(f.spans.begin(), f.spans.end());
  for (int i = 0; i < lost; ++i) sealed[i] = {};
  auto workspace = f.codec->NewWorkspace();
  for (auto _ : state) {
    CHECK(f.codec->DecodeStripe(f.stripe, sealed, f.plaintext.span(), workspace).status.ok());
  }
  SetBytes(state, kStripeBytes);
}

// Raw parts of a stripe (k | 4 MiB here): the ISA-L encode and the n EVP seals, with no
// splitting, padding or checking.
struct RawStripe {
  RawStripe(int k, int m) : k(k), m(m), plain(RandomBuffer(kStripeBytes, 3)) {
    shard = kStripeBytes / k;
    std::vector<unsigned char> matrix(size_t(k + m) * k);
    gf_gen_cauchy1_matrix(matrix.data(), k + m, k);
    encode_tables.resize(32 * k * m);
    ec_init_tables(k, m, matrix.data() + k * k, encode_tables.data());
    for (int i = 0; i < k + m; ++i) sealed.emplace_back(shard + kTag, 64);
    for (int j = 0; j < m; ++j) parity.emplace_back(shard, 64);
    for (int i = 0; i < k; ++i) data_ptrs.push_back(U(plain.data() + i * shard));
    for (int j = 0; j < m; ++j) parity_ptrs.push_back(U(parity[j].data()));
  }
  ConstByteSpan Plain(int i) const {
    return i < k ? plain.span().subspan(i * shard, shard) : parity[i - k].span();
  }
  int k, m;
  size_t shard;
  AlignedBuffer plain;
  std::vector<unsigned char> encode_tables;
  std::vector<AlignedBuffer> sealed, parity;
  std::vector<unsigned char*> data_ptrs, parity_ptrs;
};

void BM_ShardCodecEncode_RawParts(benchmark::State& state, int k, int m) {
  RawStripe r(k, m);
  const client::SecretBytes key = Key();
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  for (auto _ : state) {
    ec_encode_data(int(r.shard), k, m, r.encode_tables.data(), r.data_ptrs.data(),
                   r.parity_ptrs.data());
    for (int i = 0; i < k + m; ++i) RawEvpSeal(ctx, key.uchar(), r.Plain(i), r.sealed[i].span());
  }
  EVP_CIPHER_CTX_free(ctx);
  SetBytes(state, kStripeBytes);
}

// Opens data shards lost..k-1 and parity shards 0..lost-1, then rebuilds `lost` data shards.
void BM_ShardCodecDecode_RawParts(benchmark::State& state, int k, int m, int lost) {
  RawStripe r(k, m);
  const client::SecretBytes key = Key();
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ec_encode_data(int(r.shard), k, m, r.encode_tables.data(), r.data_ptrs.data(),
                 r.parity_ptrs.data());
  for (int i = 0; i < k + m; ++i) RawEvpSeal(ctx, key.uchar(), r.Plain(i), r.sealed[i].span());
  std::vector<unsigned char> matrix(size_t(k + m) * k), b(k * k), inverse(k * k);
  gf_gen_cauchy1_matrix(matrix.data(), k + m, k);
  std::memcpy(b.data(), matrix.data() + lost * k, size_t(k) * k);
  CHECK(gf_invert_matrix(b.data(), inverse.data(), k) == 0);
  std::vector<unsigned char> tables(32 * k * std::max(lost, 1));
  if (lost > 0) ec_init_tables(k, lost, inverse.data(), tables.data());
  std::vector<unsigned char*> sources;
  for (int i = lost; i < k + lost; ++i) {
    sources.push_back(i < k ? r.data_ptrs[i] : r.parity_ptrs[i - k]);
  }
  for (auto _ : state) {
    for (int i = lost; i < k + lost; ++i) {
      const ConstByteSpan plain = r.Plain(i);
      RawEvpOpen(ctx, key.uchar(), r.sealed[i].span(),
                 ByteSpan(const_cast<std::byte*>(plain.data()), plain.size()));
    }
    if (lost > 0) {
      ec_encode_data(int(r.shard), k, lost, tables.data(), sources.data(), r.data_ptrs.data());
    }
  }
  EVP_CIPHER_CTX_free(ctx);
  SetBytes(state, kStripeBytes);
}

constexpr SealAlgorithm kAlgorithms[] = {SealAlgorithm::kAes256Gcm,
                                         SealAlgorithm::kXChaCha20Poly1305};
constexpr std::pair<int, int> kProfiles[] = {{4, 2}, {8, 4}};

std::string Name(const std::string& head, const std::string& tail) { return head + "/" + tail; }
std::string ProfileName(std::pair<int, int> p) {
  return std::to_string(p.first) + "+" + std::to_string(p.second);
}

void RegisterSealing() {
  for (SealAlgorithm a : kAlgorithms) {
    const std::string t = std::string(AlgName(a)) + "/1024KiB";
    benchmark::RegisterBenchmark(Name("BM_Seal_Mosaic", t).c_str(), BM_Seal_Mosaic, a);
    benchmark::RegisterBenchmark(Name("BM_Seal_RawSodium", t).c_str(), BM_Seal_RawSodium, a);
    benchmark::RegisterBenchmark(Name("BM_Open_Mosaic", t).c_str(), BM_Open_Mosaic, a);
    benchmark::RegisterBenchmark(Name("BM_Open_RawSodium", t).c_str(), BM_Open_RawSodium, a);
  }
  benchmark::RegisterBenchmark("BM_Seal_RawEvp/AES256GCM/1024KiB", BM_Seal_RawEvp);
  benchmark::RegisterBenchmark("BM_Open_RawEvp/AES256GCM/1024KiB", BM_Open_RawEvp);
}

void RegisterCodec() {
  for (auto p : kProfiles) {
    const auto [k, m] = p;
    const std::string raw = ProfileName(p) + "/AES256GCM";
    benchmark::RegisterBenchmark(Name("BM_ShardCodecEncode_RawParts", raw).c_str(),
                                 BM_ShardCodecEncode_RawParts, k, m);
    for (int lost : {0, 1}) {
      benchmark::RegisterBenchmark(
          Name("BM_ShardCodecDecode_RawParts", raw + "/" + std::to_string(lost)).c_str(),
          BM_ShardCodecDecode_RawParts, k, m, lost);
    }
    for (SealAlgorithm a : kAlgorithms) {
      const std::string t = ProfileName(p) + "/" + AlgName(a);
      benchmark::RegisterBenchmark(Name("BM_ShardCodecEncode_Mosaic", t).c_str(),
                                   BM_ShardCodecEncode_Mosaic, k, m, a);
      for (int lost : {0, 1}) {
        benchmark::RegisterBenchmark(
            Name("BM_ShardCodecDecode_Mosaic", t + "/" + std::to_string(lost)).c_str(),
            BM_ShardCodecDecode_Mosaic, k, m, a, lost);
      }
    }
  }
}

void PrintRatios(const RatioReporter& r) {
  for (const char* op : {"Seal", "Open"}) {
    const std::string o = op;
    r.PrintRatio("BM_" + o + "_Mosaic/AES256GCM/1024KiB", "BM_" + o + "_RawEvp/AES256GCM/1024KiB");
    r.PrintRatio("BM_" + o + "_RawSodium/AES256GCM/1024KiB",
                 "BM_" + o + "_RawEvp/AES256GCM/1024KiB");
    r.PrintRatio("BM_" + o + "_Mosaic/XChaCha20Poly1305/1024KiB",
                 "BM_" + o + "_RawSodium/XChaCha20Poly1305/1024KiB");
  }
  for (auto p : kProfiles) {
    const std::string t = ProfileName(p) + "/AES256GCM";
    r.PrintRatio("BM_ShardCodecEncode_Mosaic/" + t, "BM_ShardCodecEncode_RawParts/" + t);
    for (const char* lost : {"/0", "/1"}) {
      r.PrintRatio("BM_ShardCodecDecode_Mosaic/" + t + lost,
                   "BM_ShardCodecDecode_RawParts/" + t + lost);
    }
  }
}

}  // namespace
}  // namespace mosaic::bench

int main(int argc, char** argv) {
  mosaic::bench::RegisterSealing();
  mosaic::bench::RegisterCodec();
  mosaic::bench::RatioReporter reporter;
  if (!mosaic::bench::RunWithReporter(argc, argv, reporter)) return 1;
  mosaic::bench::PrintRatios(reporter);
  return 0;
}
