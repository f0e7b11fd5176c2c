#pragma once
// The pieces of PutObject that UploadPart, UploadPartCopy, CopyObject and
// CompleteMultipartUpload share (defined in object_put.cc).

#include <string>

#include "absl/status/statusor.h"
#include "client/pipeline/object_writer.h"
#include "server/gateway/meta/meta_store.h"
#include "server/gateway/s3/handler.h"
#include "server/gateway/s3/request.h"

namespace mosaic::gateway {

// MissingContentLength when the request has neither Content-Length nor chunked framing,
// EntityTooLarge when the declared length is over the gateway's object size limit (a chunked
// body without a declared length is checked as it streams).
[[nodiscard]] absl::Status CheckDeclaredLength(Ctx& ctx);

// The Content-MD5 header decoded, "" when absent. InvalidDigest if it is not base64 of 16
// bytes.
[[nodiscard]] absl::StatusOr<std::string> ContentMd5(const RequestView& request);

// Streams the request body into `writer`; returns the body's MD5 (raw). EntityTooLarge past
// the object size limit, IncompleteBody when shorter than declared, and what the body
// reader finds at the end (payload hash, checksums).
[[nodiscard]] absl::StatusOr<std::string> StreamBody(Ctx& ctx, client::ObjectWriter& writer);

// If-Match / If-None-Match: * of a write, as a MetaStore::PutCheck (nullptr when the request
// has neither).
MetaStore::PutCheck WriteConditions(const RequestView& request);

}  // namespace mosaic::gateway
