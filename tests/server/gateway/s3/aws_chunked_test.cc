// The aws-chunked decoder: AWS's documented chunked upload and trailing-header examples fed
// whole, byte by byte and in random splits; tampering; hostile framing.

#include "server/gateway/s3/aws_chunked.h"

#include <cstring>
#include <random>
#include <string>

#include "gtest/gtest.h"
#include "server/gateway/s3/errors.h"

namespace mosaic::gateway {
namespace {

constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr char kSeed[] = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
constexpr char kTrailerSeed[] = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e";

AuthResult Auth(PayloadMode mode, std::optional<uint64_t> length,
                std::vector<std::string> trailers = {}, std::string seed = kSeed) {
  AuthResult a;
  a.access_key_id = "AKIAIOSFODNN7EXAMPLE";
  a.payload_mode = mode;
  a.decoded_content_length = length;
  a.trailer_names = std::move(trailers);
  a.chunk_signing =
      ChunkSigningContext{DeriveSigningKey(kSecret, "20130524", "us-east-1", "s3"), std::move(seed),
                          "20130524/us-east-1/s3/aws4_request", "20130524T000000Z"};
  return a;
}

// The body of AWS's chunked upload example: 65536 + 1024 bytes of 'a' and the final chunk.
std::string SignedExampleBody() {
  return "10000;chunk-signature="
         "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n" +
         std::string(65536, 'a') +
         "\r\n400;chunk-signature="
         "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n" +
         std::string(1024, 'a') +
         "\r\n0;chunk-signature="
         "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n";
}

// The body of AWS's trailing-header example: the same data, a CRC32C trailer and its signature.
std::string SignedTrailerExampleBody() {
  return "10000;chunk-signature="
         "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2\r\n" +
         std::string(65536, 'a') +
         "\r\n400;chunk-signature="
         "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7\r\n" +
         std::string(1024, 'a') +
         "\r\n0;chunk-signature="
         "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992\r\n"
         "x-amz-checksum-crc32c:sOO8/Q==\r\n"
         "x-amz-trailer-signature:"
         "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n"
         "\r\n";
}

AuthResult SignedExampleAuth() { return Auth(PayloadMode::kStreamingSigned, 66560); }
AuthResult SignedTrailerExampleAuth() {
  return Auth(PayloadMode::kStreamingSignedTrailer, 66560, {"x-amz-checksum-crc32c"}, kTrailerSeed);
}

// An unsigned-trailer body of `data` in chunks of `chunk`, ending with `trailer_lines`.
std::string UnsignedBody(std::string_view data, size_t chunk, std::string_view trailer_lines) {
  std::string body;
  char hex[32];
  for (size_t off = 0; off < data.size(); off += chunk) {
    size_t n = std::min(chunk, data.size() - off);
    std::snprintf(hex, sizeof(hex), "%zx\r\n", n);
    body += hex;
    body += data.substr(off, n);
    body += "\r\n";
  }
  body += "0\r\n";
  body += trailer_lines;
  body += "\r\n";
  return body;
}

struct Outcome {
  absl::Status status;  // of the first failing Feed, else of Finish
  std::string payload;
};

// Feeds `body` in pieces cut at `cuts` (sorted offsets), then finishes.
Outcome Decode(const AuthResult& auth, std::string_view body, const std::vector<size_t>& cuts) {
  Outcome out;
  auto decoder = AwsChunkedDecoder::Create(auth);
  if (!decoder.ok()) return {decoder.status(), ""};
  auto sink = [&](std::string_view p) {
    out.payload.append(p);
    return absl::OkStatus();
  };
  size_t at = 0;
  for (size_t cut : cuts) {
    out.status = decoder->Feed(body.substr(at, cut - at), sink);
    if (!out.status.ok()) return out;
    at = cut;
  }
  out.status = decoder->Feed(body.substr(at), sink);
  if (out.status.ok()) out.status = decoder->Finish();
  return out;
}

Outcome DecodeWhole(const AuthResult& auth, std::string_view body) {
  return Decode(auth, body, {});
}

Outcome DecodeBytewise(const AuthResult& auth, std::string_view body) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < body.size(); ++i) cuts.push_back(i);
  return Decode(auth, body, cuts);
}

Outcome DecodeRandomSplits(const AuthResult& auth, std::string_view body, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<size_t> cuts;
  for (size_t at = 0;;) {
    at += 1 + rng() % 9000;
    if (at >= body.size()) break;
    cuts.push_back(at);
  }
  return Decode(auth, body, cuts);
}

S3Code CodeOfOutcome(const Outcome& o) {
  return o.status.ok() ? S3Code::kInternalError : CodeOf(o.status);
}

TEST(AwsChunkedTest, SignedExampleDecodesWholeBytewiseAndInRandomSplits) {
  const std::string body = SignedExampleBody();
  const std::string want(66560, 'a');
  Outcome whole = DecodeWhole(SignedExampleAuth(), body);
  ASSERT_TRUE(whole.status.ok()) << whole.status;
  EXPECT_EQ(whole.payload, want);
  Outcome bytewise = DecodeBytewise(SignedExampleAuth(), body);
  ASSERT_TRUE(bytewise.status.ok()) << bytewise.status;
  EXPECT_EQ(bytewise.payload, want);
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    Outcome o = DecodeRandomSplits(SignedExampleAuth(), body, seed);
    ASSERT_TRUE(o.status.ok()) << seed << ": " << o.status;
    EXPECT_EQ(o.payload, want);
  }
}

TEST(AwsChunkedTest, SignedTrailerExampleVerifiesChecksumAndTrailerSignature) {
  const std::string body = SignedTrailerExampleBody();
  for (const Outcome& o : {DecodeWhole(SignedTrailerExampleAuth(), body),
                           DecodeBytewise(SignedTrailerExampleAuth(), body),
                           DecodeRandomSplits(SignedTrailerExampleAuth(), body, 5)}) {
    ASSERT_TRUE(o.status.ok()) << o.status;
    EXPECT_EQ(o.payload, std::string(66560, 'a'));
  }
  auto decoder = AwsChunkedDecoder::Create(SignedTrailerExampleAuth());
  ASSERT_TRUE(decoder.ok());
  ASSERT_TRUE(decoder->Feed(body, [](std::string_view) { return absl::OkStatus(); }).ok());
  ASSERT_TRUE(decoder->Finish().ok());
  EXPECT_EQ(decoder->decoded_bytes(), 66560u);
  ASSERT_TRUE(decoder->checksum().has_value());
  EXPECT_EQ(decoder->checksum()->algorithm, ChecksumAlgorithm::kCrc32c);
  EXPECT_EQ(decoder->checksum()->base64, "sOO8/Q==");
}

TEST(AwsChunkedTest, UnsignedTrailerWithEveryChecksum) {
  const std::string data = "123456789";
  struct Case {
    std::string header;
    std::string value;
  };
  for (const Case& c :
       {Case{"x-amz-checksum-crc32", "y/Q5Jg=="}, Case{"x-amz-checksum-crc32c", "4waSgw=="},
        Case{"x-amz-checksum-crc64nvme", "rosUhgp5mIg="},
        Case{"x-amz-checksum-sha1", "98O8HYCOBHMq32eZZczDTKeuNEE="},
        Case{"x-amz-checksum-sha256", "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU="}}) {
    AuthResult auth = Auth(PayloadMode::kStreamingUnsignedTrailer, data.size(), {c.header});
    std::string body = UnsignedBody(data, 4, c.header + ":" + c.value + "\r\n");
    Outcome o = DecodeBytewise(auth, body);
    EXPECT_TRUE(o.status.ok()) << c.header << ": " << o.status;
    EXPECT_EQ(o.payload, data);
    // One wrong bit in the value: BadDigest.
    std::string wrong = c.value;
    wrong[1] = wrong[1] == 'A' ? 'B' : 'A';
    body = UnsignedBody(data, 4, c.header + ":" + wrong + "\r\n");
    EXPECT_EQ(CodeOfOutcome(DecodeWhole(auth, body)), S3Code::kBadDigest) << c.header;
    // A value of the wrong size: InvalidRequest.
    body = UnsignedBody(data, 4, c.header + ":AAAA\r\n");
    EXPECT_EQ(CodeOfOutcome(DecodeWhole(auth, body)), S3Code::kInvalidRequest) << c.header;
  }
}

TEST(AwsChunkedTest, UnsignedTrailerAsBotocoreSendsIt) {
  std::string data(66560, 'a');
  AuthResult auth =
      Auth(PayloadMode::kStreamingUnsignedTrailer, data.size(), {"x-amz-checksum-crc32"});
  Outcome o =
      DecodeRandomSplits(auth, UnsignedBody(data, 65536, "x-amz-checksum-crc32:sK4Y7A==\r\n"), 3);
  ASSERT_TRUE(o.status.ok()) << o.status;
  EXPECT_EQ(o.payload, data);
}

TEST(AwsChunkedTest, EmptyPayloads) {
  EXPECT_TRUE(
      DecodeWhole(Auth(PayloadMode::kStreamingUnsignedTrailer, 0), "0\r\n\r\n").status.ok());
  AuthResult crc = Auth(PayloadMode::kStreamingUnsignedTrailer, 0, {"x-amz-checksum-crc32"});
  EXPECT_TRUE(DecodeWhole(crc, "0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n").status.ok());
}

TEST(AwsChunkedTest, BlankLineBeforeTrailersIsTolerated) {
  AuthResult auth = Auth(PayloadMode::kStreamingUnsignedTrailer, 9, {"x-amz-checksum-crc32"});
  Outcome o = DecodeWhole(auth, "9\r\n123456789\r\n0\r\n\r\nx-amz-checksum-crc32:y/Q5Jg==\r\n\r\n");
  EXPECT_TRUE(o.status.ok()) << o.status;
}

TEST(AwsChunkedTest, MissingClosingBlankLineIsTolerated) {
  std::string body = SignedExampleBody();
  body.resize(body.size() - 2);
  EXPECT_TRUE(DecodeWhole(SignedExampleAuth(), body).status.ok());
}

// ---- Tampering with a signed body. ----

TEST(AwsChunkedTest, ChangedDataByteFailsItsChunk) {
  for (size_t pos : {size_t{88}, size_t{88 + 65535}, size_t{66000}}) {  // data bytes
    std::string body = SignedExampleBody();
    body[pos] = 'b';
    Outcome o = DecodeRandomSplits(SignedExampleAuth(), body, 9);
    EXPECT_EQ(CodeOfOutcome(o), S3Code::kSignatureDoesNotMatch) << pos;
  }
}

TEST(AwsChunkedTest, ChangedChunkSignatureFails) {
  for (std::string_view sig : {"ad80c730", "0055627c", "b6c6ea8a"}) {
    std::string body = SignedExampleBody();
    size_t at = body.find(sig);
    body[at] = body[at] == '0' ? '1' : '0';
    EXPECT_EQ(CodeOfOutcome(DecodeWhole(SignedExampleAuth(), body)), S3Code::kSignatureDoesNotMatch)
        << sig;
  }
}

TEST(AwsChunkedTest, WrongSeedFailsTheFirstChunk) {
  AuthResult auth = SignedExampleAuth();
  auth.chunk_signing.seed_signature[0] = '5';
  Outcome o = DecodeWhole(auth, SignedExampleBody());
  EXPECT_EQ(CodeOfOutcome(o), S3Code::kSignatureDoesNotMatch);
  EXPECT_LE(o.payload.size(), 65536u);
}

TEST(AwsChunkedTest, MissingChunkSignatureFailsInSignedMode) {
  std::string body = "9\r\n123456789\r\n0\r\n\r\n";
  EXPECT_EQ(CodeOfOutcome(DecodeWhole(Auth(PayloadMode::kStreamingSigned, 9), body)),
            S3Code::kSignatureDoesNotMatch);
}

TEST(AwsChunkedTest, ReorderedChunksFail) {
  // Two chunks of equal size, sent in the other order.
  std::string body = SignedExampleBody();
  std::string c1 = body.substr(0, body.find("\r\n400;") + 2);
  std::string rest = body.substr(c1.size());
  // Swap the first chunk's signature extension with the final chunk's: the chain breaks.
  std::string final_sig = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9";
  std::string first_sig = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648";
  std::string swapped = body;
  swapped.replace(swapped.find(first_sig), 64, final_sig);
  swapped.replace(swapped.rfind(final_sig), 64, first_sig);
  EXPECT_EQ(CodeOfOutcome(DecodeWhole(SignedExampleAuth(), swapped)),
            S3Code::kSignatureDoesNotMatch);
}

TEST(AwsChunkedTest, TamperedTrailerFails) {
  std::string body = SignedTrailerExampleBody();
  std::string changed = body;
  changed.replace(changed.find("sOO8/Q=="), 8, "AAAAAA==");
  EXPECT_EQ(CodeOfOutcome(DecodeWhole(SignedTrailerExampleAuth(), changed)),
            S3Code::kSignatureDoesNotMatch);
  changed = body;
  changed.replace(changed.find("d81f82fc"), 8, "d81f82fd");
  EXPECT_EQ(CodeOfOutcome(DecodeWhole(SignedTrailerExampleAuth(), changed)),
            S3Code::kSignatureDoesNotMatch);
  changed = body;
  size_t sig_line = changed.find("x-amz-trailer-signature");
  changed.erase(sig_line, changed.find("\r\n", sig_line) + 2 - sig_line);
  EXPECT_EQ(CodeOfOutcome(DecodeWhole(SignedTrailerExampleAuth(), changed)),
            S3Code::kSignatureDoesNotMatch);
}

TEST(AwsChunkedTest, SignedTrailerWithWrongChecksumButRightSignatureIsBadDigest) {
  // Re-sign a wrong CRC32C so that only the checksum check can catch it.
  AuthResult auth = SignedTrailerExampleAuth();
  std::string final_sig = "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992";
  std::string sig =
      TrailerSignature(auth.chunk_signing, final_sig, "x-amz-checksum-crc32c:AAAAAA==\n");
  std::string body = SignedTrailerExampleBody();
  body.replace(body.find("sOO8/Q=="), 8, "AAAAAA==");
  body.replace(body.find("d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"), 64,
               sig);
  EXPECT_EQ(CodeOfOutcome(DecodeWhole(auth, body)), S3Code::kBadDigest);
}

// ---- Hostile framing. ----

TEST(AwsChunkedTest, EveryTruncationFails) {
  Checksummer c(ChecksumAlgorithm::kCrc32c);
  c.Update("123456789abcdef");
  std::string body =
      UnsignedBody("123456789abcdef", 4, "x-amz-checksum-crc32c:" + c.DigestBase64() + "\r\n");
  AuthResult auth = Auth(PayloadMode::kStreamingUnsignedTrailer, 15, {"x-amz-checksum-crc32c"});
  ASSERT_TRUE(DecodeWhole(auth, body).status.ok());
  for (size_t len = 0; len + 2 < body.size(); ++len) {
    Outcome o = DecodeBytewise(auth, body.substr(0, len));
    EXPECT_FALSE(o.status.ok()) << len;
  }
  std::string signed_body = SignedExampleBody();
  for (size_t len : {size_t{0}, size_t{10}, size_t{86}, size_t{87}, size_t{5000}, size_t{65623},
                     size_t{65625}, signed_body.size() - 90, signed_body.size() - 3}) {
    EXPECT_FALSE(DecodeWhole(SignedExampleAuth(), signed_body.substr(0, len)).status.ok()) << len;
  }
}

TEST(AwsChunkedTest, MalformedSizeLines) {
  AuthResult auth = Auth(PayloadMode::kStreamingUnsignedTrailer, 100);
  for (std::string body : {"\r\n", "x\r\n", "-1\r\n", "0x10\r\n", "1 0\r\n",
                           "12345678901234567\r\n", "9\n123456789\r\n0\r\n\r\n", "9\r\r\n"}) {
    EXPECT_EQ(CodeOfOutcome(DecodeBytewise(auth, body)), S3Code::kInvalidRequest) << body;
  }
}

TEST(AwsChunkedTest, OverlongLinesAreRejectedEarly) {
  AuthResult auth = Auth(PayloadMode::kStreamingUnsignedTrailer, 100);
  std::string size_line(1 << 20, '0');
  auto decoder = AwsChunkedDecoder::Create(auth);
  ASSERT_TRUE(decoder.ok());
  absl::Status s;
  size_t fed = 0;
  auto sink = [](std::string_view) { return absl::OkStatus(); };
  for (; fed < size_line.size() && s.ok(); fed += 100) {
    s = decoder->Feed(std::string_view(size_line).substr(fed, 100), sink);
  }
  EXPECT_EQ(CodeOf(s), S3Code::kInvalidRequest);
  EXPECT_LE(fed, AwsChunkedDecoder::kMaxLineBytes + 200);
  std::string ext = "5;" + std::string(10000, 'x') + "\r\n";
  EXPECT_EQ(CodeOfOutcome(DecodeWhole(auth, ext)), S3Code::kInvalidRequest);
  std::string trailer = "0\r\nx-amz-checksum-crc32:" + std::string(10000, 'A') + "\r\n\r\n";
  EXPECT_EQ(
      CodeOfOutcome(DecodeWhole(
          Auth(PayloadMode::kStreamingUnsignedTrailer, 0, {"x-amz-checksum-crc32"}), trailer)),
      S3Code::kInvalidRequest);
}

TEST(AwsChunkedTest, ChunkLargerThanDeclaredLengthIsRejectedBeforeItsData) {
  AuthResult auth = Auth(PayloadMode::kStreamingUnsignedTrailer, 4);
  Outcome o = DecodeWhole(auth, "5\r\n12345\r\n0\r\n\r\n");
  EXPECT_EQ(CodeOfOutcome(o), S3Code::kInvalidRequest);
  EXPECT_EQ(o.payload, "");
  o = DecodeWhole(auth, "ffffffffffffffff\r\n");
  EXPECT_EQ(CodeOfOutcome(o), S3Code::kInvalidRequest);
}

TEST(AwsChunkedTest, ShorterThanDeclaredLengthIsIncompleteBody) {
  AuthResult auth = Auth(PayloadMode::kStreamingUnsignedTrailer, 10);
  EXPECT_EQ(CodeOfOutcome(DecodeWhole(auth, "9\r\n123456789\r\n0\r\n\r\n")),
            S3Code::kIncompleteBody);
}

TEST(AwsChunkedTest, DataNotFollowedByCrlf) {
  AuthResult auth = Auth(PayloadMode::kStreamingUnsignedTrailer, 20);
  EXPECT_EQ(CodeOfOutcome(DecodeWhole(auth, "4\r\n123456789\r\n0\r\n\r\n")),
            S3Code::kInvalidRequest);
  EXPECT_EQ(CodeOfOutcome(DecodeWhole(auth, "4\r\n1234\n\r0\r\n\r\n")), S3Code::kInvalidRequest);
}

TEST(AwsChunkedTest, BytesAfterTheEndAreRejected) {
  AuthResult auth = Auth(PayloadMode::kStreamingUnsignedTrailer, 0);
  EXPECT_EQ(CodeOfOutcome(DecodeWhole(auth, "0\r\n\r\nX")), S3Code::kInvalidRequest);
  EXPECT_EQ(CodeOfOutcome(DecodeWhole(auth, "0\r\n\r\n0\r\n\r\n")), S3Code::kInvalidRequest);
}

TEST(AwsChunkedTest, TrailerRules) {
  AuthResult crc32 = Auth(PayloadMode::kStreamingUnsignedTrailer, 0, {"x-amz-checksum-crc32"});
  // Undeclared, repeated, malformed, too many, and missing trailers.
  EXPECT_EQ(CodeOfOutcome(DecodeWhole(crc32, "0\r\nx-amz-checksum-crc32c:AAAAAA==\r\n\r\n")),
            S3Code::kInvalidRequest);
  EXPECT_EQ(CodeOfOutcome(DecodeWhole(crc32, "0\r\nx-amz-meta-a:1\r\n\r\n")),
            S3Code::kInvalidRequest);
  EXPECT_EQ(
      CodeOfOutcome(DecodeWhole(
          crc32, "0\r\nx-amz-checksum-crc32:AAAAAA==\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n")),
      S3Code::kInvalidRequest);
  EXPECT_EQ(CodeOfOutcome(DecodeWhole(crc32, "0\r\nx-amz-checksum-crc32 AAAAAA==\r\n\r\n")),
            S3Code::kInvalidRequest);
  EXPECT_EQ(CodeOfOutcome(DecodeWhole(crc32, "0\r\n\r\n")), S3Code::kIncompleteBody);
  // Trailer names are case-insensitive, values trimmed.
  EXPECT_TRUE(DecodeWhole(crc32, "0\r\nX-Amz-Checksum-CRC32 :  AAAAAA== \r\n\r\n").status.ok());
  // No trailers at all in a mode without them; no trailer signature in the unsigned mode.
  EXPECT_EQ(
      CodeOfOutcome(DecodeWhole(Auth(PayloadMode::kStreamingSigned, 0),
                                "0;chunk-signature=" + std::string(64, '0') + "\r\na:b\r\n\r\n")),
      S3Code::kSignatureDoesNotMatch);
  EXPECT_EQ(CodeOfOutcome(DecodeWhole(
                crc32, "0\r\nx-amz-checksum-crc32:AAAAAA==\r\nx-amz-trailer-signature:" +
                           std::string(64, '0') + "\r\n\r\n")),
            S3Code::kInvalidRequest);
}

TEST(AwsChunkedTest, CreateRejectsUnsupportedTrailerDeclarations) {
  auto code = [](AuthResult a) { return CodeOf(AwsChunkedDecoder::Create(a).status()); };
  EXPECT_EQ(code(Auth(PayloadMode::kStreamingUnsignedTrailer, 0,
                      {"x-amz-checksum-crc32", "x-amz-checksum-sha1"})),
            S3Code::kInvalidRequest);
  EXPECT_EQ(code(Auth(PayloadMode::kStreamingUnsignedTrailer, 0, {"x-amz-meta-foo"})),
            S3Code::kInvalidRequest);
  EXPECT_EQ(code(Auth(PayloadMode::kStreamingSigned, 0, {"x-amz-checksum-crc32"})),
            S3Code::kInvalidRequest);
}

TEST(AwsChunkedTest, SinkErrorStopsDecodingAndSticks) {
  auto decoder = AwsChunkedDecoder::Create(SignedExampleAuth());
  ASSERT_TRUE(decoder.ok());
  absl::Status s = decoder->Feed(SignedExampleBody(), [](std::string_view) {
    return absl::ResourceExhaustedError("disk full");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(decoder->Finish().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(decoder->Feed("0\r\n", [](std::string_view) { return absl::OkStatus(); }).code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(AwsChunkedTest, InPlaceCompactionThroughTheSinkIsSafe) {
  // The sink's pieces never lie before the bytes already written: a caller may decode into
  // the very buffer it read the raw body into.
  std::string buffer = SignedExampleBody();
  auto decoder = AwsChunkedDecoder::Create(SignedExampleAuth());
  ASSERT_TRUE(decoder.ok());
  size_t written = 0;
  ASSERT_TRUE(decoder
                  ->Feed(buffer,
                         [&](std::string_view p) {
                           EXPECT_GE(p.data(), buffer.data() + written);
                           std::memmove(buffer.data() + written, p.data(), p.size());
                           written += p.size();
                           return absl::OkStatus();
                         })
                  .ok());
  ASSERT_TRUE(decoder->Finish().ok());
  EXPECT_EQ(buffer.substr(0, written), std::string(66560, 'a'));
}

TEST(AwsChunkedTest, RandomGarbageNeverCrashesNorPasses) {
  std::mt19937 rng(42);
  const std::string alphabet = "0123456789abcdefx;=\r\n:-";
  for (int round = 0; round < 300; ++round) {
    std::string body(rng() % 200, '\0');
    for (char& c : body) c = alphabet[rng() % alphabet.size()];
    for (PayloadMode mode : {PayloadMode::kStreamingSigned, PayloadMode::kStreamingUnsignedTrailer,
                             PayloadMode::kStreamingSignedTrailer}) {
      Outcome o = DecodeRandomSplits(Auth(mode, 1000), body, round);
      EXPECT_FALSE(o.status.ok()) << body;
    }
  }
}

}  // namespace
}  // namespace mosaic::gateway
