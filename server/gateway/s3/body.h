#pragma once
// BodyReader implementations: the plain body (with its declared SHA-256 and any
// x-amz-checksum-* header checked at the end), and aws-chunked bodies.

#include <memory>

#include "server/gateway/s3/handler.h"
#include "server/gateway/s3/sigv4.h"

namespace mosaic::gateway {

// The reader for this request's body given how it was signed. INVALID_ARGUMENT-style S3
// errors for checksum headers that do not parse.
[[nodiscard]] absl::StatusOr<std::unique_ptr<BodyReader>> NewBodyReader(Exchange& ex,
                                                                        const AuthResult& auth);

}  // namespace mosaic::gateway
