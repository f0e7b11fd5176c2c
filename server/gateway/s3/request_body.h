#pragma once
// Small request bodies read whole: the XML documents of DeleteObjects and PutObjectTagging.

#include <string>

#include "common/status.h"
#include "server/gateway/s3/checksum.h"
#include "server/gateway/s3/errors.h"
#include "server/gateway/s3/handler.h"

namespace mosaic::gateway {

// The whole body of the request, verified: what the body reader checks (payload hash,
// chunk signatures, x-amz-checksum-* headers and trailers) and the Content-MD5 header when
// there is one (InvalidDigest if malformed, BadDigest if it differs). MalformedXML when the
// body is longer than `max_bytes` (the declared length is checked before reading). Blocks
// the calling (connection) thread while the body arrives.
[[nodiscard]] inline absl::StatusOr<std::string> ReadWholeBody(Ctx& ctx, size_t max_bytes) {
  const char* too_large = "The XML document exceeds the size this request allows";
  if (auto declared = ctx.body.declared_length(); declared && *declared > max_bytes) {
    return S3Error(S3Code::kMalformedXML, too_large);
  }
  std::string md5_header(ctx.ex.request().Header("content-md5"));
  std::string expected_md5;
  if (!md5_header.empty()) {
    ASSIGN_OR_RETURN(expected_md5, ParseDigest(ChecksumAlgorithm::kMd5, md5_header));
  }
  std::string body;
  char buf[16384];
  while (true) {
    ASSIGN_OR_RETURN(size_t n, ctx.body.Read({reinterpret_cast<std::byte*>(buf), sizeof buf}));
    if (n == 0) break;
    if (body.size() + n > max_bytes) return S3Error(S3Code::kMalformedXML, too_large);
    body.append(buf, n);
  }
  RETURN_IF_ERROR(ctx.body.Finish());
  if (!md5_header.empty() && ComputeDigest(ChecksumAlgorithm::kMd5, body) != expected_md5) {
    return S3Error(S3Code::kBadDigest);
  }
  return body;
}

}  // namespace mosaic::gateway
