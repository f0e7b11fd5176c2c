// Multipart uploads: CreateMultipartUpload, UploadPart, UploadPartCopy,
// CompleteMultipartUpload, AbortMultipartUpload (the listings are in multipart_list.cc).
//
// Ordering (docs/architecture.md, "Multipart"): the upload record is written first; a part's
// data is written through the pipeline and its record committed only if the upload still
// exists, else the data is deleted at once; Complete checks the listed parts under the
// metadata write lock and commits the object, the removal of the upload and the deletion of
// the parts it does not use in one write; Abort removes the upload and queues every part.

#include "server/gateway/s3/multipart.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <pugixml.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "client/crypto/secret.h"
#include "client/pipeline/object_writer.h"
#include "common/buffer_pool.h"
#include "common/status.h"
#include "server/gateway/jobs/deleter.h"
#include "server/gateway/meta/manifest_codec.h"
#include "server/gateway/s3/checksum.h"
#include "server/gateway/s3/copy.h"
#include "server/gateway/s3/errors.h"
#include "server/gateway/s3/object_checksum.h"
#include "server/gateway/s3/object_data.h"
#include "server/gateway/s3/object_get.h"
#include "server/gateway/s3/object_headers.h"
#include "server/gateway/s3/object_lock.h"
#include "server/gateway/s3/object_options.h"
#include "server/gateway/s3/object_put.h"
#include "server/gateway/s3/request_body.h"
#include "server/gateway/s3/sigv4.h"
#include "server/gateway/s3/tagging.h"
#include "server/gateway/s3/versioning.h"
#include "server/gateway/s3/xml.h"

namespace mosaic::gateway {
namespace {

constexpr size_t kMaxKeyBytes = 1024;
constexpr size_t kBodyChunk = 1 << 20;
constexpr size_t kUploadIdBytes = 16;  // 32 hex digits
// A CompleteMultipartUpload body of 10,000 parts with checksums is about 2 MiB.
constexpr size_t kMaxCompleteBodyBytes = 4 << 20;

std::string Param(const Ctx& ctx, const char* name) {
  auto it = ctx.req.query.find(name);
  return it == ctx.req.query.end() ? "" : it->second;
}

std::string Unquote(std::string_view s) {
  std::string t(absl::StripAsciiWhitespace(ToAbsl(s)));
  if (t.size() >= 2 && t.front() == '"' && t.back() == '"') t = t.substr(1, t.size() - 2);
  return t;
}

absl::StatusOr<uint32_t> PartNumber(const Ctx& ctx) {
  return ParsePartNumber(Param(ctx, "partNumber"));
}

// The upload named by the request's uploadId; NoSuchUpload (NoSuchBucket) if there is none.
absl::StatusOr<v1::UploadRecord> RequireUpload(Ctx& ctx) {
  std::string id = Param(ctx, "uploadId");
  if (!id.empty()) {
    ASSIGN_OR_RETURN(auto upload, ctx.svc.meta.GetUpload(ctx.req.bucket, ctx.req.key, id));
    if (upload) return *upload;
  }
  RETURN_IF_ERROR(RequireBucket(ctx).status());
  return S3Error(S3Code::kNoSuchUpload);
}

std::string NewUploadId() {
  std::string random(kUploadIdBytes, '\0');
  client::RandomBytes({reinterpret_cast<std::byte*>(random.data()), random.size()});
  return HexEncode(AsBytes(random));
}

// x-amz-checksum-algorithm / x-amz-checksum-type of CreateMultipartUpload into `upload`.
absl::Status ChecksumChoice(const RequestView& request, v1::UploadRecord& upload) {
  std::string_view name = request.Header("x-amz-checksum-algorithm");
  std::string type = absl::AsciiStrToUpper(ToAbsl(request.Header("x-amz-checksum-type")));
  if (name.empty()) {
    if (!type.empty()) {
      return S3Error(S3Code::kInvalidRequest,
                     "x-amz-checksum-type requires x-amz-checksum-algorithm");
    }
    return absl::OkStatus();
  }
  std::optional<ChecksumAlgorithm> alg = AlgorithmFromName(name);
  if (!alg || *alg == ChecksumAlgorithm::kMd5) {
    return S3Error(S3Code::kInvalidRequest, "Checksum algorithm provided is unsupported");
  }
  if (type.empty()) type = *alg == ChecksumAlgorithm::kCrc64Nvme ? "FULL_OBJECT" : "COMPOSITE";
  if (type != "COMPOSITE" && type != "FULL_OBJECT") {
    return S3Error(S3Code::kInvalidRequest, "x-amz-checksum-type must be COMPOSITE or FULL_OBJECT");
  }
  bool sha = *alg == ChecksumAlgorithm::kSha1 || *alg == ChecksumAlgorithm::kSha256;
  if (type == "FULL_OBJECT" && sha) {
    return S3Error(S3Code::kInvalidRequest, "The FULL_OBJECT checksum type cannot be used with " +
                                                std::string(NameOf(*alg)));
  }
  if (type == "COMPOSITE" && *alg == ChecksumAlgorithm::kCrc64Nvme) {
    return S3Error(S3Code::kInvalidRequest,
                   "The COMPOSITE checksum type cannot be used with CRC64NVME");
  }
  upload.set_checksum_algorithm(std::string(NameOf(*alg)));
  upload.set_checksum_composite(type == "COMPOSITE");
  return absl::OkStatus();
}

// Copies [first, last] of `source` into `writer`; returns the MD5 of the bytes copied.
absl::StatusOr<std::string> CopyRangeInto(Ctx& ctx, const v1::ObjectRecord& source, uint64_t offset,
                                          uint64_t length, client::ObjectWriter& writer) {
  Checksummer md5(ChecksumAlgorithm::kMd5);
  ASSIGN_OR_RETURN(auto reader, ObjectDataReader::Open(ctx.svc.pipeline, source, offset, length));
  // Sized to the range (at most kBodyChunk), from the pool: not zeroed, not freshly mapped.
  PooledBuffer buffer(std::clamp<uint64_t>(length, 4096, kBodyChunk));
  uint64_t total = 0;
  while (true) {
    ASSIGN_OR_RETURN(size_t n, reader->Read(buffer.span()));
    if (n == 0) break;
    ConstByteSpan chunk{buffer.data(), n};
    total += n;
    md5.Update(AsStringView(chunk));
    RETURN_IF_ERROR(writer.Write(chunk));
  }
  if (total != length) return absl::DataLossError("copy source ended early");
  return md5.Digest();
}

// Writes a part through `fill` (which streams into the writer and returns the MD5), then
// commits it. The data is deleted again on any failure after it became durable; a part of an
// upload aborted meanwhile is NoSuchUpload.
template <typename Fill>
absl::StatusOr<v1::ObjectPart> WritePart(Ctx& ctx, const v1::UploadRecord& upload, uint32_t number,
                                         const std::string& content_md5, Fill fill) {
  ASSIGN_OR_RETURN(auto writer, ctx.svc.pipeline.NewWriter());
  absl::StatusOr<std::string> md5 = fill(*writer);
  if (md5.ok() && !content_md5.empty() && *md5 != content_md5) {
    md5 = S3Error(S3Code::kBadDigest);
  }
  if (!md5.ok()) {
    writer->Abort();  // deletes every shard written so far
    return md5.status();
  }
  ASSIGN_OR_RETURN(client::ObjectManifest manifest, writer->Finish());
  v1::ObjectPart part;
  *part.mutable_manifest() = ToProto(manifest);
  part.set_number(number);
  part.set_etag(HexEncode(AsBytes(*md5)));
  part.set_last_modified_ms(NowMs());
  absl::Status committed = AttachPartChecksum(ctx, upload, part);
  if (committed.ok()) {
    committed = ctx.svc.meta.PutPart(ctx.req.bucket, ctx.req.key, upload.upload_id(), part);
  }
  if (!committed.ok()) {
    // The data is durable but unreferenced: deleted now, what a node did not confirm queued.
    if (absl::Status s = DeleteOrQueue(ctx.svc.meta, ctx.svc.pipeline, manifest); !s.ok()) {
      spdlog::warn("unreferenced data of {}/{} left to the orphan sweep: {}", ctx.req.bucket,
                   ctx.req.key, s.ToString());
    }
    if (committed.code() == absl::StatusCode::kNotFound && !IsS3Error(committed)) {
      return S3Error(S3Code::kNoSuchUpload);
    }
    return committed;
  }
  return part;
}

// The source object of an UploadPartCopy, READ-checked, with its conditions checked.
absl::StatusOr<v1::ObjectRecord> CopySourceObject(Ctx& ctx) {
  ASSIGN_OR_RETURN(CopySource src, ParseCopySource(ctx.ex.request().Header("x-amz-copy-source")));
  if (!ctx.who.AllowsKey(src.bucket, src.key, v1::Grant::READ)) {
    return S3Error(S3Code::kAccessDenied);
  }
  ASSIGN_OR_RETURN(auto record, ReadVersion(ctx, src.bucket, src.key, src.version,
                                            MetaStore::Hydration::kManifests));
  if (!record) {
    ASSIGN_OR_RETURN(auto bucket, ctx.svc.meta.GetBucket(src.bucket));
    if (!bucket) return S3Error(S3Code::kNoSuchBucket);
    return S3Error(src.version ? S3Code::kNoSuchVersion : S3Code::kNoSuchKey);
  }
  RETURN_IF_ERROR(CheckCopySourceVersion(*record, src.version));
  RETURN_IF_ERROR(CheckCopySourceConditions(ctx.ex.request(), *record));
  return *record;
}

// The CompleteMultipartUploadResult of `etag`; with the object's `record` (when it is still
// the object this upload made) its checksum too.
absl::Status SendCompleteResult(Ctx& ctx, const std::string& etag, const v1::ObjectRecord* record) {
  EchoEncryption(ctx.ex);
  std::string host(ctx.ex.request().Header("host"));
  XmlDoc doc("CompleteMultipartUploadResult");
  XmlDoc::Add(doc.root(), "Location",
              "http://" + host + "/" + ctx.req.bucket + "/" + UriEncode(ctx.req.key, true));
  XmlDoc::Add(doc.root(), "Bucket", ctx.req.bucket);
  XmlDoc::Add(doc.root(), "Key", ctx.req.key);
  XmlDoc::Add(doc.root(), "ETag", "\"" + etag + "\"");
  if (auto alg = record ? StoredAlgorithm(record->checksum().algorithm()) : std::nullopt) {
    XmlDoc::Add(doc.root(), XmlElementOf(*alg).c_str(),
                ShownValue(record->checksum(), record->parts_size()));
    XmlDoc::Add(doc.root(), "ChecksumType", ChecksumTypeName(record->checksum()));
  }
  return SendXml(ctx, doc.ToString());
}

bool SameParts(const v1::CompletedUploadRecord& done, const std::vector<CompletedPart>& listed) {
  if (done.parts_size() != static_cast<int>(listed.size())) return false;
  for (size_t i = 0; i < listed.size(); ++i) {
    const auto& p = done.parts(static_cast<int>(i));
    if (p.number() != listed[i].number || p.etag() != listed[i].etag) return false;
  }
  return true;
}

// A Complete of an upload that is gone: if it completed here with the very parts listed (an
// SDK retrying after a lost response), the same result again, as S3 answers; else
// NoSuchUpload.
absl::Status RepeatedComplete(Ctx& ctx, const std::vector<CompletedPart>& listed) {
  std::string id = Param(ctx, "uploadId");
  std::optional<v1::CompletedUploadRecord> done;
  if (!id.empty()) {
    ASSIGN_OR_RETURN(done, ctx.svc.meta.GetCompletedUpload(id));
  }
  if (!done || done->bucket() != ctx.req.bucket || done->key() != ctx.req.key ||
      !SameParts(*done, listed)) {
    return S3Error(S3Code::kNoSuchUpload);
  }
  ASSIGN_OR_RETURN(auto current, ctx.svc.meta.GetObject(ctx.req.bucket, ctx.req.key));
  bool same_object = current && current->etag() == done->etag();
  return SendCompleteResult(ctx, done->etag(), same_object ? &*current : nullptr);
}

}  // namespace

absl::StatusOr<std::vector<CompletedPart>> ParseCompleteRequest(std::string_view xml) {
  pugi::xml_document doc;
  RETURN_IF_ERROR(LoadXml(doc, xml, kCompleteMultipartXml));
  pugi::xml_node root = doc.document_element();
  if (std::string_view(root.name()) != "CompleteMultipartUpload") {
    return S3Error(S3Code::kMalformedXML);
  }
  std::vector<CompletedPart> parts;
  for (pugi::xml_node p : root.children()) {
    if (p.type() != pugi::node_element) continue;
    if (std::string_view(p.name()) != "Part") return S3Error(S3Code::kMalformedXML);
    pugi::xml_node number = p.child("PartNumber"), etag = p.child("ETag");
    CompletedPart part;
    std::string text(absl::StripAsciiWhitespace(number.text().get()));
    if (!number || !etag || !absl::SimpleAtoi(text, &part.number)) {
      return S3Error(S3Code::kMalformedXML);
    }
    part.etag = Unquote(etag.text().get());
    for (ChecksumAlgorithm alg :
         {ChecksumAlgorithm::kCrc32, ChecksumAlgorithm::kCrc32c, ChecksumAlgorithm::kCrc64Nvme,
          ChecksumAlgorithm::kSha1, ChecksumAlgorithm::kSha256}) {
      if (pugi::xml_node value = p.child(XmlElementOf(alg).c_str())) {
        if (part.checksum) return S3Error(S3Code::kMalformedXML, "a part with two checksums");
        part.checksum.emplace(alg, std::string(absl::StripAsciiWhitespace(value.text().get())));
      }
    }
    parts.push_back(std::move(part));
    if (parts.size() > kMaxPartNumber) {
      return S3Error(S3Code::kInvalidArgument, "At most 10000 parts may be completed");
    }
  }
  if (parts.empty()) return S3Error(S3Code::kMalformedXML);
  return parts;
}

absl::StatusOr<std::string> MultipartEtag(const std::vector<v1::ObjectPart>& parts) {
  Checksummer md5(ChecksumAlgorithm::kMd5);
  for (const v1::ObjectPart& p : parts) {
    bool hex = p.etag().size() == 32 && std::all_of(p.etag().begin(), p.etag().end(), [](char c) {
                 return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
               });
    if (!hex) {
      return absl::InternalError("part " + std::to_string(p.number()) + " has a malformed ETag");
    }
    md5.Update(absl::HexStringToBytes(p.etag()));
  }
  return HexEncode(AsBytes(md5.Digest())) + "-" + std::to_string(parts.size());
}

absl::Status CheckListedChecksum(const v1::UploadRecord& upload, const v1::ObjectPart& stored,
                                 const CompletedPart& listed) {
  // Values listed for an upload created without an algorithm are not checked, as S3.
  std::optional<ChecksumAlgorithm> alg = StoredAlgorithm(upload.checksum_algorithm());
  if (!listed.checksum || !alg) return absl::OkStatus();
  std::string part = "Part " + std::to_string(listed.number);
  if (listed.checksum->first != *alg) {
    return S3Error(S3Code::kInvalidPart, part +
                                             " lists a checksum of another algorithm than the "
                                             "upload's " +
                                             upload.checksum_algorithm());
  }
  absl::StatusOr<std::string> digest = ParseDigest(*alg, listed.checksum->second);
  if (!digest.ok() || *digest != stored.checksum()) {
    return S3Error(S3Code::kInvalidPart, part + "'s checksum does not match the uploaded part's");
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::ObjectRecord> BuildCompletedObject(const v1::UploadRecord& upload,
                                                      const std::vector<v1::ObjectPart>& stored,
                                                      const std::vector<CompletedPart>& listed,
                                                      uint64_t min_part_bytes, int64_t now_ms) {
  std::map<uint32_t, const v1::ObjectPart*> by_number;
  for (const v1::ObjectPart& p : stored) by_number[p.number()] = &p;
  v1::ObjectRecord record;
  uint64_t size = 0;
  for (size_t i = 0; i < listed.size(); ++i) {
    if (i > 0 && listed[i].number <= listed[i - 1].number) {
      return S3Error(S3Code::kInvalidPartOrder);
    }
    auto it = by_number.find(listed[i].number);
    if (it == by_number.end() || it->second->etag() != listed[i].etag) {
      return S3Error(S3Code::kInvalidPart, "Part " + std::to_string(listed[i].number) +
                                               " was not uploaded or its ETag does not match");
    }
    RETURN_IF_ERROR(CheckListedChecksum(upload, *it->second, listed[i]));
    *record.add_parts() = *it->second;
    size += it->second->manifest().size();
  }
  for (int i = 0; i + 1 < record.parts_size(); ++i) {
    if (record.parts(i).manifest().size() < min_part_bytes) {
      return S3Error(S3Code::kEntityTooSmall, "Part " + std::to_string(record.parts(i).number()) +
                                                  " is smaller than the minimum allowed size");
    }
  }
  std::vector<v1::ObjectPart> used(record.parts().begin(), record.parts().end());
  ASSIGN_OR_RETURN(std::string etag, MultipartEtag(used));
  record.set_etag(etag);
  record.set_size(size);
  record.set_last_modified_ms(now_ms);
  *record.mutable_headers() = upload.headers();
  *record.mutable_user_metadata() = upload.user_metadata();
  *record.mutable_tags() = upload.tags();
  record.set_lock_mode(upload.lock_mode());
  record.set_retain_until_ms(upload.retain_until_ms());
  record.set_legal_hold(upload.legal_hold());
  record.set_legal_hold_set(upload.legal_hold_set());
  return record;
}

absl::StatusOr<CopySource> ParseCopySource(std::string_view header) {
  std::string_view path = header, query;
  if (size_t q = header.find('?'); q != std::string_view::npos) {
    path = header.substr(0, q);
    query = header.substr(q + 1);
  }
  if (!query.empty()) {
    if (!query.starts_with("versionId=") || query.size() == 10) {
      return S3Error(S3Code::kInvalidArgument, "Invalid x-amz-copy-source query");
    }
  }
  absl::StatusOr<std::string> decoded = PercentDecode(path, false);
  if (!decoded.ok()) return decoded.status();
  size_t start = decoded->starts_with('/') ? 1 : 0;
  size_t slash = decoded->find('/', start);
  if (slash == std::string::npos || slash == start || slash + 1 == decoded->size()) {
    return S3Error(S3Code::kInvalidArgument, "x-amz-copy-source must be bucket/key");
  }
  CopySource source;
  source.bucket = decoded->substr(start, slash - start);
  source.key = decoded->substr(slash + 1);
  if (!query.empty()) {
    ASSIGN_OR_RETURN(source.version, PercentDecode(query.substr(10), false));
  }
  return source;
}

absl::StatusOr<CopyRange> ParseCopySourceRange(std::string_view header, uint64_t size) {
  auto bad = [] {
    return S3Error(S3Code::kInvalidArgument,
                   "The x-amz-copy-source-range value must be of the form bytes=first-last");
  };
  if (!header.starts_with("bytes=")) return bad();
  std::string_view spec = header.substr(6);
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return bad();
  std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
  auto digits = [](std::string_view s) {
    return !s.empty() && s.size() <= 19 &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (!digits(a) || !digits(b)) return bad();
  CopyRange r;
  if (!absl::SimpleAtoi(ToAbsl(a), &r.first) || !absl::SimpleAtoi(ToAbsl(b), &r.last)) {
    return bad();
  }
  if (r.first > r.last) return bad();
  if (r.last >= size) {
    return S3Error(S3Code::kInvalidRange, "The x-amz-copy-source-range is outside the object");
  }
  return r;
}

absl::Status CreateMultipartUpload(Ctx& ctx) {
  if (ctx.req.key.size() > kMaxKeyBytes) return S3Error(S3Code::kKeyTooLongError);
  RETURN_IF_ERROR(Require(ctx, v1::Grant::WRITE));
  ASSIGN_OR_RETURN(v1::BucketRecord bucket, RequireBucket(ctx));
  RETURN_IF_ERROR(CheckWriteOptions(ctx.ex.request()));
  ASSIGN_OR_RETURN(v1::ObjectRecord stored, RecordFromHeaders(ctx.ex.request()));
  ASSIGN_OR_RETURN(LockRequest lock, LockFromHeaders(ctx.ex.request(), bucket, false));
  v1::UploadRecord upload;
  upload.set_lock_mode(lock.mode);
  upload.set_retain_until_ms(lock.retain_until_ms);
  upload.set_legal_hold(lock.legal_hold);
  upload.set_legal_hold_set(lock.legal_hold_set);
  upload.set_upload_id(NewUploadId());
  upload.set_initiated_ms(NowMs());
  *upload.mutable_headers() = stored.headers();
  *upload.mutable_user_metadata() = stored.user_metadata();
  ASSIGN_OR_RETURN(auto tags, TagsFromHeader(ctx.ex.request().Header("x-amz-tagging")));
  for (auto& tag : tags) *upload.add_tags() = std::move(tag);
  upload.set_owner_key_id(ctx.who.key_id);
  RETURN_IF_ERROR(ChecksumChoice(ctx.ex.request(), upload));
  absl::Status created = ctx.svc.meta.CreateUpload(ctx.req.bucket, ctx.req.key, upload);
  if (created.code() == absl::StatusCode::kNotFound) return S3Error(S3Code::kNoSuchBucket);
  RETURN_IF_ERROR(created);
  if (!upload.checksum_algorithm().empty()) {
    ctx.ex.SetHeader("x-amz-checksum-algorithm", upload.checksum_algorithm());
    ctx.ex.SetHeader("x-amz-checksum-type",
                     upload.checksum_composite() ? "COMPOSITE" : "FULL_OBJECT");
  }
  EchoEncryption(ctx.ex);
  XmlDoc doc("InitiateMultipartUploadResult");
  XmlDoc::Add(doc.root(), "Bucket", ctx.req.bucket);
  XmlDoc::Add(doc.root(), "Key", ctx.req.key);
  XmlDoc::Add(doc.root(), "UploadId", upload.upload_id());
  return SendXml(ctx, doc.ToString());
}

absl::Status UploadPart(Ctx& ctx) {
  RETURN_IF_ERROR(Require(ctx, v1::Grant::WRITE));
  ASSIGN_OR_RETURN(uint32_t number, PartNumber(ctx));
  ASSIGN_OR_RETURN(v1::UploadRecord upload, RequireUpload(ctx));
  RETURN_IF_ERROR(CheckDeclaredLength(ctx));
  RETURN_IF_ERROR(CheckWriteOptions(ctx.ex.request()));
  ASSIGN_OR_RETURN(std::string content_md5, ContentMd5(ctx.ex.request()));
  ASSIGN_OR_RETURN(v1::ObjectPart part,
                   WritePart(ctx, upload, number, content_md5,
                             [&](client::ObjectWriter& w) { return StreamBody(ctx, w); }));
  ctx.ex.SetHeader("ETag", "\"" + part.etag() + "\"");
  EchoEncryption(ctx.ex);
  return ctx.ex.Send(200, "");
}

absl::Status UploadPartCopy(Ctx& ctx) {
  RETURN_IF_ERROR(Require(ctx, v1::Grant::WRITE));
  ASSIGN_OR_RETURN(uint32_t number, PartNumber(ctx));
  ASSIGN_OR_RETURN(v1::UploadRecord upload, RequireUpload(ctx));
  ASSIGN_OR_RETURN(v1::ObjectRecord source, CopySourceObject(ctx));
  uint64_t offset = 0, length = source.size();
  if (std::string_view h = ctx.ex.request().Header("x-amz-copy-source-range"); !h.empty()) {
    ASSIGN_OR_RETURN(CopyRange range, ParseCopySourceRange(h, source.size()));
    offset = range.first;
    length = range.last - range.first + 1;
  }
  if (length > ctx.svc.config.max_object_bytes) return S3Error(S3Code::kEntityTooLarge);
  RETURN_IF_ERROR(ReadWholeBody(ctx, kMaxCompleteBodyBytes).status());  // none expected
  ASSIGN_OR_RETURN(v1::ObjectPart part,
                   WritePart(ctx, upload, number, "", [&](client::ObjectWriter& w) {
                     return CopyRangeInto(ctx, source, offset, length, w);
                   }));
  EchoEncryption(ctx.ex);
  XmlDoc doc("CopyPartResult");
  XmlDoc::Add(doc.root(), "LastModified", Iso8601(part.last_modified_ms()));
  XmlDoc::Add(doc.root(), "ETag", "\"" + part.etag() + "\"");
  return SendXml(ctx, doc.ToString());
}

absl::Status CompleteMultipartUpload(Ctx& ctx) {
  RETURN_IF_ERROR(Require(ctx, v1::Grant::WRITE));
  ASSIGN_OR_RETURN(std::string body, ReadWholeBody(ctx, kMaxCompleteBodyBytes));
  ASSIGN_OR_RETURN(std::vector<CompletedPart> listed, ParseCompleteRequest(body));
  uint64_t min_part_bytes = ctx.svc.config.min_part_bytes;
  v1::ObjectRecord done;
  auto build = [&](const v1::UploadRecord& upload,
                   const std::vector<v1::ObjectPart>& stored) -> absl::StatusOr<v1::ObjectRecord> {
    ASSIGN_OR_RETURN(v1::ObjectRecord record,
                     BuildCompletedObject(upload, stored, listed, min_part_bytes, NowMs()));
    std::vector<v1::ObjectPart> used(record.parts().begin(), record.parts().end());
    RETURN_IF_ERROR(CompleteChecksum(ctx, upload, used, record));
    done = record;
    return record;
  };
  absl::StatusOr<std::string> completed =
      ctx.svc.meta.CompleteUpload(ctx.req.bucket, ctx.req.key, Param(ctx, "uploadId"), build,
                                  WriteConditions(ctx.ex.request()));
  if (completed.status().code() == absl::StatusCode::kNotFound && !IsS3Error(completed.status())) {
    RETURN_IF_ERROR(RequireBucket(ctx).status());
    return RepeatedComplete(ctx, listed);
  }
  RETURN_IF_ERROR(VersionError(completed.status()));
  if (!completed->empty()) ctx.ex.SetHeader("x-amz-version-id", *completed);
  return SendCompleteResult(ctx, done.etag(), &done);
}

absl::Status AbortMultipartUpload(Ctx& ctx) {
  RETURN_IF_ERROR(Require(ctx, v1::Grant::WRITE));
  ASSIGN_OR_RETURN(bool existed,
                   ctx.svc.meta.AbortUpload(ctx.req.bucket, ctx.req.key, Param(ctx, "uploadId")));
  if (!existed) {
    RETURN_IF_ERROR(RequireBucket(ctx).status());
    return S3Error(S3Code::kNoSuchUpload);
  }
  return ctx.ex.Send(204, "");
}

}  // namespace mosaic::gateway
