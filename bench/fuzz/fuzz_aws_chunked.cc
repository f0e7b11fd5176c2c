// Fuzz target: an aws-chunked request body (s3/aws_chunked.h) fed to the decoder in pieces
// of fuzzer-chosen sizes. Byte 0 picks the payload mode and the declared trailer, byte 1 the
// piece size, bytes 2-9 the declared decoded length (x-amz-decoded-content-length); the rest
// is the body. Signed modes cannot get past a chunk signature (the fuzzer cannot forge
// one), so most of the framing is reached in STREAMING-UNSIGNED-PAYLOAD-TRAILER. Checks
// that the decoder never hands out more bytes than the body holds nor than were declared.

#include <cstdint>
#include <string>

#include "bench/fuzz/fuzz_input.h"
#include "common/check.h"
#include "server/gateway/s3/aws_chunked.h"
#include "server/gateway/s3/sigv4.h"

namespace {

using namespace mosaic::gateway;

constexpr PayloadMode kModes[] = {
    PayloadMode::kStreamingUnsignedTrailer, PayloadMode::kStreamingUnsignedTrailer,
    PayloadMode::kStreamingSigned, PayloadMode::kStreamingSignedTrailer};
constexpr const char* kTrailers[] = {nullptr,
                                     "x-amz-checksum-crc32",
                                     "x-amz-checksum-crc32c",
                                     "x-amz-checksum-crc64nvme",
                                     "x-amz-checksum-sha1",
                                     "x-amz-checksum-sha256",
                                     "x-amz-checksum-md5",
                                     "x-amz-meta-other"};

AuthResult AuthFor(uint8_t selector, uint64_t declared) {
  AuthResult auth;
  auth.access_key_id = "AKIAIOSFODNN7EXAMPLE";
  auth.payload_mode = kModes[selector % 4];
  if (const char* t = kTrailers[(selector >> 2) % 8]) auth.trailer_names.push_back(t);
  if (selector & 0x80) auth.decoded_content_length = declared;
  auth.chunk_signing.signing_key =
      DeriveSigningKey("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1", "s3");
  auth.chunk_signing.seed_signature =
      "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
  auth.chunk_signing.scope = "20130524/us-east-1/s3/aws4_request";
  auth.chunk_signing.request_datetime = "20130524T000000Z";
  return auth;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mosaic::fuzz::FuzzInput in(data, size);
  uint8_t selector = in.Byte();
  size_t piece = 1 + in.Byte();
  uint64_t declared = in.U64() % (uint64_t{1} << 20);
  std::string_view body = in.Rest();
  AuthResult auth = AuthFor(selector, declared);
  auto decoder = AwsChunkedDecoder::Create(auth);
  if (!decoder.ok()) return 0;
  uint64_t handed = 0;
  auto sink = [&](std::string_view bytes) {
    handed += bytes.size();
    return absl::OkStatus();
  };
  absl::Status status;
  while (!body.empty() && status.ok()) {
    std::string_view part = body.substr(0, piece);
    body.remove_prefix(part.size());
    status = decoder->Feed(part, sink);
  }
  if (status.ok()) status = decoder->Finish();
  CHECK(handed <= size);
  CHECK(decoder->decoded_bytes() == handed);
  if (status.ok() && auth.decoded_content_length) CHECK(handed == *auth.decoded_content_length);
  return 0;
}
