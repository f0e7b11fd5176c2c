// multipart.cc: work in progress (issue 6); answers 501 until implemented.

#include "server/gateway/s3/errors.h"
#include "server/gateway/s3/handler.h"

namespace mosaic::gateway {

absl::Status CreateMultipartUpload(Ctx&) { return S3Error(S3Code::kNotImplemented, "CreateMultipartUpload is not implemented yet"); }

absl::Status UploadPart(Ctx&) { return S3Error(S3Code::kNotImplemented, "UploadPart is not implemented yet"); }

absl::Status UploadPartCopy(Ctx&) { return S3Error(S3Code::kNotImplemented, "UploadPartCopy is not implemented yet"); }

absl::Status CompleteMultipartUpload(Ctx&) { return S3Error(S3Code::kNotImplemented, "CompleteMultipartUpload is not implemented yet"); }

absl::Status AbortMultipartUpload(Ctx&) { return S3Error(S3Code::kNotImplemented, "AbortMultipartUpload is not implemented yet"); }

absl::Status ListParts(Ctx&) { return S3Error(S3Code::kNotImplemented, "ListParts is not implemented yet"); }

absl::Status ListMultipartUploads(Ctx&) { return S3Error(S3Code::kNotImplemented, "ListMultipartUploads is not implemented yet"); }

}  // namespace mosaic::gateway
