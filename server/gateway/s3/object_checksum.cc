#include "server/gateway/s3/object_checksum.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "common/buffer_pool.h"
#include "common/bytes.h"
#include "common/status.h"
#include "server/gateway/meta/tables/pieces.h"
#include "server/gateway/s3/errors.h"
#include "server/gateway/s3/multipart.h"
#include "server/gateway/s3/object_data.h"

namespace mosaic::gateway {
namespace {

std::string LowerName(ChecksumAlgorithm alg) { return absl::AsciiStrToLower(ToAbsl(NameOf(alg))); }

}  // namespace

std::optional<ChecksumAlgorithm> StoredAlgorithm(const std::string& name) {
  if (name.empty()) return std::nullopt;
  std::optional<ChecksumAlgorithm> alg = AlgorithmFromName(name);
  if (alg == ChecksumAlgorithm::kMd5) return std::nullopt;
  return alg;
}

absl::StatusOr<std::string> PartDigestFor(const v1::UploadRecord& upload,
                                          const BodyChecksum& sent) {
  if (upload.checksum_algorithm().empty()) return std::string();
  std::optional<ChecksumAlgorithm> alg = StoredAlgorithm(upload.checksum_algorithm());
  if (!alg) return absl::InternalError("upload record: unknown checksum algorithm");
  if (!sent) {
    return S3Error(S3Code::kInvalidRequest,
                   "The upload was created using a " + LowerName(*alg) +
                       " checksum. The part request must include a checksum header of that "
                       "algorithm (x-amz-checksum-" +
                       LowerName(*alg) + ").");
  }
  if (sent->first != *alg) {
    return S3Error(S3Code::kInvalidRequest,
                   "Checksum Type mismatch occurred, expected checksum Type: " + LowerName(*alg) +
                       ", actual checksum Type: " + LowerName(sent->first));
  }
  return sent->second;
}

absl::StatusOr<v1::Checksum> CompletedChecksum(const v1::UploadRecord& upload,
                                               const std::vector<v1::ObjectPart>& parts) {
  v1::Checksum out;
  if (upload.checksum_algorithm().empty()) return out;
  std::optional<ChecksumAlgorithm> alg = StoredAlgorithm(upload.checksum_algorithm());
  if (!alg) return absl::InternalError("upload record: unknown checksum algorithm");
  bool composite = upload.checksum_composite();
  if (!composite && !IsCrc(*alg)) {
    return absl::InternalError("upload record: FULL_OBJECT checksum of a non-CRC algorithm");
  }
  // COMPOSITE: the algorithm over the part digests; FULL_OBJECT: the CRCs folded in order.
  Checksummer over_digests(*alg);
  std::string whole = ComputeDigest(*alg, "");
  for (const v1::ObjectPart& part : parts) {
    if (part.checksum().size() != DigestSizeOf(*alg)) {
      return S3Error(S3Code::kInvalidPart,
                     "The upload was created using a " + LowerName(*alg) +
                         " checksum. The complete request must include the checksum for each "
                         "part. It was missing for part " +
                         std::to_string(part.number()) + " in the request.");
    }
    if (composite) {
      over_digests.Update(part.checksum());
    } else {
      whole = CombineCrcDigests(*alg, whole, part.checksum(), part.manifest().size());
    }
  }
  out.set_algorithm(std::string(NameOf(*alg)));
  out.set_digest(composite ? over_digests.Digest() : whole);
  out.set_composite(composite);
  return out;
}

absl::Status VerifyCompleteHeader(const RequestView& request, const v1::Checksum& checksum,
                                  int parts_count) {
  std::optional<ChecksumAlgorithm> alg = StoredAlgorithm(checksum.algorithm());
  for (const auto& [name, value] : request.headers) {
    std::optional<ChecksumAlgorithm> sent = AlgorithmFromHeaderName(name);
    if (!sent) continue;
    if (sent != alg) {
      return S3Error(S3Code::kInvalidRequest,
                     "The " + name +
                         " header does not match the checksum algorithm of the "
                         "upload.");
    }
    std::string_view text = value;
    std::string suffix = "-" + std::to_string(parts_count);
    if (checksum.composite() && text.ends_with(suffix)) {
      text.remove_suffix(suffix.size());
    }
    RETURN_IF_ERROR(VerifyDigest(*alg, text, checksum.digest()));
  }
  return absl::OkStatus();
}

std::string ShownValue(const v1::Checksum& checksum, int parts_count, bool with_count) {
  std::string value = Base64Encode(checksum.digest());
  if (checksum.composite() && with_count) value += "-" + std::to_string(parts_count);
  return value;
}

std::string_view ChecksumTypeName(const v1::Checksum& checksum) {
  return checksum.composite() ? "COMPOSITE" : "FULL_OBJECT";
}

std::string XmlElementOf(ChecksumAlgorithm alg) { return "Checksum" + std::string(NameOf(alg)); }

bool IsMultipartObject(const v1::ObjectRecord& record) {
  return record.parts_size() > 0 && record.parts(0).number() != 0;
}

absl::StatusOr<PartSlice> SliceOfPart(const v1::ObjectRecord& record, uint32_t number) {
  PartSlice slice;
  if (!IsMultipartObject(record)) {
    if (number != 1) {
      return S3Error(S3Code::kInvalidPartNumber);
    }
    slice.length = record.size();
    return slice;
  }
  slice.parts_count = record.parts_size();
  uint64_t offset = 0;
  for (int i = 0; i < record.parts_size(); ++i) {
    // Sizes are stored with the parts: no part need be hydrated (pieces::PartSize).
    uint64_t size = meta::pieces::PartSize(record.parts(i)).value_or(0);
    if (record.parts(i).number() == number) {
      slice.offset = offset;
      slice.length = size;
      slice.part = i;
      return slice;
    }
    offset += size;
  }
  return S3Error(S3Code::kInvalidPartNumber);
}

absl::StatusOr<uint32_t> ParsePartNumber(std::string_view text) {
  uint32_t number = 0;
  bool digits = !text.empty() && text.size() <= 5 &&
                std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || !absl::SimpleAtoi(ToAbsl(text), &number) || number < 1 ||
      number > kMaxPartNumber) {
    return S3Error(S3Code::kInvalidArgument,
                   "Part number must be an integer between 1 and 10000, inclusive");
  }
  return number;
}

std::vector<std::pair<std::string, std::string>> ChecksumHeaders(const v1::ObjectRecord& record,
                                                                 const PartSlice* slice) {
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<ChecksumAlgorithm> alg = StoredAlgorithm(record.checksum().algorithm());
  if (!alg) return headers;
  std::string name(HeaderNameOf(*alg));
  if (slice != nullptr && slice->part >= 0) {
    const std::string& digest = record.parts(slice->part).checksum();
    if (digest.size() == DigestSizeOf(*alg)) headers.emplace_back(name, Base64Encode(digest));
    return headers;
  }
  headers.emplace_back(name, ShownValue(record.checksum(), record.parts_size()));
  headers.emplace_back("x-amz-checksum-type", std::string(ChecksumTypeName(record.checksum())));
  return headers;
}

namespace {

constexpr size_t kReadBackChunk = 1 << 20;

// A copied part's checksum: S3 computes it itself, so the part's bytes are read back (they
// are durable, the part is not yet committed).
absl::StatusOr<BodyChecksum> ReadBackChecksum(Ctx& ctx, ChecksumAlgorithm alg,
                                              const v1::ObjectPart& part) {
  v1::ObjectRecord one;
  *one.add_parts() = part;
  one.set_size(part.manifest().size());
  ASSIGN_OR_RETURN(auto reader, ObjectDataReader::Open(ctx.svc.pipeline, one, 0, one.size()));
  Checksummer sum(alg);
  PooledBuffer buffer(kReadBackChunk);  // from the pool: not zeroed, not freshly mapped
  while (true) {
    ASSIGN_OR_RETURN(size_t n, reader->Read(buffer.span()));
    if (n == 0) break;
    sum.Update(AsStringView({buffer.data(), n}));
  }
  return std::make_pair(alg, sum.Digest());
}

}  // namespace

absl::Status AttachPartChecksum(Ctx& ctx, const v1::UploadRecord& upload, v1::ObjectPart& part) {
  BodyChecksum sent = ctx.body.checksum();
  std::optional<ChecksumAlgorithm> alg = StoredAlgorithm(upload.checksum_algorithm());
  if (ctx.req.op == Operation::kUploadPartCopy && alg) {
    ASSIGN_OR_RETURN(sent, ReadBackChecksum(ctx, *alg, part));
  }
  ASSIGN_OR_RETURN(std::string digest, PartDigestFor(upload, sent));
  part.set_checksum(std::move(digest));
  if (sent) ctx.ex.SetHeader(std::string(HeaderNameOf(sent->first)), Base64Encode(sent->second));
  return absl::OkStatus();
}

absl::Status CompleteChecksum(Ctx& ctx, const v1::UploadRecord& upload,
                              const std::vector<v1::ObjectPart>& used_parts,
                              v1::ObjectRecord& record) {
  ASSIGN_OR_RETURN(v1::Checksum checksum, CompletedChecksum(upload, used_parts));
  if (checksum.algorithm().empty()) return absl::OkStatus();
  RETURN_IF_ERROR(
      VerifyCompleteHeader(ctx.ex.request(), checksum, static_cast<int>(used_parts.size())));
  *record.mutable_checksum() = std::move(checksum);
  return absl::OkStatus();
}

}  // namespace mosaic::gateway
