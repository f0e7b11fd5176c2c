// GetObject and HeadObject: conditional requests (RFC 7232 order), single ranges (206, 416),
// ?partNumber (a part of a multipart object as a 206), response-* overrides, stored checksums
// (x-amz-checksum-mode: ENABLED), and the body streamed from the pipeline's reader.

#include "server/gateway/s3/object_get.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "common/buffer_pool.h"
#include "common/status.h"
#include "server/gateway/meta/tables/pieces.h"
#include "server/gateway/s3/errors.h"
#include "server/gateway/s3/handler.h"
#include "server/gateway/s3/object_checksum.h"
#include "server/gateway/s3/object_data.h"
#include "server/gateway/s3/object_headers.h"
#include "server/gateway/s3/object_lock.h"
#include "server/gateway/s3/object_options.h"
#include "server/gateway/s3/versioning.h"
#include "server/gateway/s3/xml.h"

namespace mosaic::gateway {
namespace {

constexpr size_t kBodyChunk = 1 << 20;

// A byte position of a Range header: 1*DIGIT (RFC 7233), nothing else (no sign, no space).
// Saturates at UINT64_MAX: a position past any object is still a position. nullopt if not
// digits.
std::optional<uint64_t> BytePos(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t d = static_cast<uint64_t>(c - '0');
    v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
  }
  return v;
}

// The object or the version asked for. A delete marker: 404 NoSuchKey when it is the key's
// newest version, 405 MethodNotAllowed when asked for by id, with its headers either way.
absl::StatusOr<v1::ObjectRecord> Lookup(Ctx& ctx, MetaStore::Hydration hydration,
                                        const MetaStore::PartRange& parts) {
  RETURN_IF_ERROR(Require(ctx, v1::Grant::READ));
  ASSIGN_OR_RETURN(std::optional<std::string> version, VersionParam(ctx.req.query));
  ASSIGN_OR_RETURN(auto record,
                   ReadVersion(ctx, ctx.req.bucket, ctx.req.key, version, hydration, parts));
  if (!record) return VersionMissing(ctx, version);
  bool shown = version.has_value();
  if (!shown) {
    ASSIGN_OR_RETURN(shown, ShowsVersionId(ctx, *record));
  }
  SetVersionHeaders(ctx.ex, *record, shown);
  if (record->delete_marker()) {
    ctx.ex.SetHeader("Last-Modified", HttpDate(record->last_modified_ms()));
    return S3Error(S3Code::kMethodNotAllowed);
  }
  return *record;
}

// What a GET/HEAD returns: a Range, a ?partNumber, or the whole object.
struct Selection {
  uint64_t offset = 0;
  uint64_t length = 0;
  int status = 200;
  std::optional<PartSlice> part;  // with ?partNumber
  bool whole = true;              // the whole object's bytes (checksums apply)
};

// A 416 names the object's size as RFC 9110 §15.5.17 asks (Content-Range: bytes */size), and
// its error document the range asked for and that size, as S3's does.
absl::Status Unsatisfiable(Ctx& ctx, absl::Status error, std::string_view range, uint64_t size) {
  if (CodeOf(error) != S3Code::kInvalidRange) return error;
  ctx.ex.SetHeader("Content-Range", "bytes */" + std::to_string(size));
  error = WithErrorDetail(std::move(error), "RangeRequested", range);
  return WithErrorDetail(std::move(error), "ActualObjectSize", std::to_string(size));
}

absl::StatusOr<Selection> Select(Ctx& ctx, const v1::ObjectRecord& record) {
  Selection sel;
  uint64_t size = record.size();
  std::string_view range_header = ctx.ex.request().Header("range");
  if (auto it = ctx.req.query.find("partNumber"); it != ctx.req.query.end()) {
    if (!range_header.empty()) {
      return S3Error(S3Code::kInvalidRequest,
                     "Cannot specify both Range header and partNumber query parameter");
    }
    ASSIGN_OR_RETURN(uint32_t number, ParsePartNumber(it->second));
    ASSIGN_OR_RETURN(PartSlice slice, SliceOfPart(record, number));
    sel.offset = slice.offset;
    sel.length = slice.length;
    // S3 answers 206 for a part of a multipart object, 200 for part 1 of any other.
    sel.status = slice.part >= 0 && slice.length > 0 ? 206 : 200;
    sel.whole = slice.part < 0;
    sel.part = slice;
    return sel;
  }
  absl::StatusOr<std::optional<ByteRange>> parsed = ParseRange(range_header, size);
  if (!parsed.ok()) return Unsatisfiable(ctx, parsed.status(), range_header, size);
  const std::optional<ByteRange>& range = *parsed;
  sel.offset = range ? range->first : 0;
  sel.length = range ? range->last - range->first + 1 : size;
  sel.status = range ? 206 : 200;
  sel.whole = !range;
  return sel;
}

void SetChecksumHeaders(Ctx& ctx, const v1::ObjectRecord& record, const Selection& sel) {
  std::string_view mode = ctx.ex.request().Header("x-amz-checksum-mode");
  if (!absl::EqualsIgnoreCase(ToAbsl(mode), "ENABLED")) return;
  if (!sel.whole && !sel.part) return;  // a Range: no checksum covers those bytes
  for (const auto& [name, value] : ChecksumHeaders(record, sel.part ? &*sel.part : nullptr)) {
    ctx.ex.SetHeader(name, value);
  }
}

absl::Status SendBody(Ctx& ctx, ObjectDataReader& reader, int status, uint64_t length) {
  // Read the first block before answering, so that an unreadable object is a clean error.
  // Blocks go to the socket from the decoded stripe itself (a view valid until the next
  // Next), kBodyChunk at most per write as before (a client has transfer_timeout per write).
  ASSIGN_OR_RETURN(ConstByteSpan block, reader.Next(kBodyChunk));
  RETURN_IF_ERROR(ctx.ex.SendHeaders(status, length));
  while (!block.empty()) {
    if (!ctx.ex.SendBody(block).ok()) {
      ctx.ex.Abort();
      return absl::OkStatus();
    }
    auto next = reader.Next(kBodyChunk);
    if (!next.ok()) {
      ctx.ex.Abort();  // the client sees a short body, never wrong bytes
      return absl::OkStatus();
    }
    block = *next;
  }
  return absl::OkStatus();
}

// CheckConditions for a GET or HEAD: a 304 carries the ETag and Last-Modified a 200 would
// (RFC 7232 §4.1), and S3 sends them.
absl::Status CheckReadConditions(Ctx& ctx, const v1::ObjectRecord& record) {
  absl::Status s = CheckConditions(ctx.ex.request(), record.etag(), record.last_modified_ms());
  if (!s.ok() && CodeOf(s) == S3Code::kNotModified) {
    ctx.ex.SetHeader("ETag", "\"" + record.etag() + "\"");
    ctx.ex.SetHeader("Last-Modified", HttpDate(record.last_modified_ms()));
  }
  return s;
}

absl::Status Serve(Ctx& ctx, bool with_body) {
  RETURN_IF_ERROR(CheckReadEncryption(ctx.ex.request()));
  // A HEAD needs no manifest but for ?partNumber in records without part sizes (one row
  // read); a GET those of the parts it reads (PartsRead).
  auto number = ctx.req.query.find("partNumber");
  std::optional<std::string_view> part_number;
  if (number != ctx.req.query.end()) part_number = number->second;
  std::string_view range = ctx.ex.request().Header("range");
  MetaStore::PartRange parts = [&](const v1::ObjectRecord& r) -> std::pair<int, int> {
    if (!with_body && !PiecesSize(r)) return {0, r.parts_size()};  // sizes not stored
    return with_body ? PartsRead(r, range, part_number) : std::pair<int, int>(0, 0);
  };
  bool manifests = with_body || part_number.has_value();
  ASSIGN_OR_RETURN(
      v1::ObjectRecord record,
      Lookup(ctx, manifests ? MetaStore::Hydration::kManifests : MetaStore::Hydration::kNone,
             parts));
  RETURN_IF_ERROR(CheckReadConditions(ctx, record));
  uint64_t size = record.size();
  ASSIGN_OR_RETURN(Selection sel, Select(ctx, record));
  SetObjectHeaders(ctx.ex, record, ctx.req.query);
  SetLockHeaders(ctx.ex, record);
  EchoEncryption(ctx.ex);
  SetChecksumHeaders(ctx, record, sel);
  uint64_t offset = sel.offset;
  uint64_t length = sel.length;
  int status = sel.status;
  if (status == 206) {
    ctx.ex.SetHeader("Content-Range", "bytes " + std::to_string(offset) + "-" +
                                          std::to_string(offset + length - 1) + "/" +
                                          std::to_string(size));
  }
  if (sel.part && sel.part->parts_count > 0) {
    ctx.ex.SetHeader("x-amz-mp-parts-count", std::to_string(sel.part->parts_count));
  }
  if (!with_body || length == 0) return ctx.ex.SendHeaders(status, length);
  ASSIGN_OR_RETURN(auto reader, ObjectDataReader::Open(ctx.svc.pipeline, record, offset, length));
  absl::Status sent = SendBody(ctx, *reader, status, length);
  // Shards that failed their tag or were missing go to the repair queue, whatever the
  // client saw.
  if (ctx.svc.repair != nullptr) {
    if (auto faults = reader->faults(); !faults.empty()) {
      ctx.svc.repair->ReportBadShards(record, faults);
    }
  }
  return sent;
}

}  // namespace

bool EtagMatches(std::string_view header, const std::string& etag, bool strong) {
  for (absl::string_view part : absl::StrSplit(ToAbsl(header), ',')) {
    std::string tag(absl::StripAsciiWhitespace(part));
    if (tag == "*") return true;
    if (tag.starts_with("W/")) {
      if (strong) continue;
      tag = tag.substr(2);
    }
    if (tag.size() >= 2 && tag.front() == '"' && tag.back() == '"') {
      tag = tag.substr(1, tag.size() - 2);
    }
    if (tag == etag) return true;
  }
  return false;
}

absl::Status CheckConditions(const RequestView& request, const std::string& etag,
                             int64_t last_modified_ms) {
  int64_t modified_s = last_modified_ms / 1000;
  std::string_view if_match = request.Header("if-match");
  std::string_view if_none_match = request.Header("if-none-match");
  if (!if_match.empty()) {
    if (!EtagMatches(if_match, etag, true)) return S3Error(S3Code::kPreconditionFailed);
  } else if (int64_t t = ParseHttpDate(request.Header("if-unmodified-since")); t >= 0) {
    if (modified_s > t / 1000) return S3Error(S3Code::kPreconditionFailed);
  }
  if (!if_none_match.empty()) {
    if (EtagMatches(if_none_match, etag, false)) return S3Error(S3Code::kNotModified);
  } else if (int64_t t = ParseHttpDate(request.Header("if-modified-since")); t >= 0) {
    if (modified_s <= t / 1000) return S3Error(S3Code::kNotModified);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<ByteRange>> ParseRange(std::string_view header, uint64_t size) {
  if (header.empty()) return std::nullopt;
  std::string h(absl::StripAsciiWhitespace(ToAbsl(header)));
  // Anything but one well-formed byte range is ignored, as RFC 7233 allows.
  if (!h.starts_with("bytes=") || h.find(',') != std::string::npos) return std::nullopt;
  std::string_view spec = std::string_view(h).substr(6);
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
  uint64_t first = 0, last = 0;
  if (a.empty()) {  // suffix: the last b bytes
    std::optional<uint64_t> n = BytePos(b);
    if (!n) return std::nullopt;
    if (*n == 0 || size == 0) return S3Error(S3Code::kInvalidRange);
    first = *n >= size ? 0 : size - *n;
    last = size - 1;
  } else {
    std::optional<uint64_t> f = BytePos(a);
    if (!f) return std::nullopt;
    first = *f;
    if (b.empty()) {
      last = UINT64_MAX;
    } else {
      std::optional<uint64_t> l = BytePos(b);
      if (!l || *l < first) return std::nullopt;
      last = *l;
    }
    if (first >= size) return S3Error(S3Code::kInvalidRange);
    last = std::min(last, size - 1);
  }
  return ByteRange{first, last};
}

std::pair<int, int> PartsRead(const v1::ObjectRecord& record, std::string_view range,
                              std::optional<std::string_view> part_number) {
  const std::pair<int, int> all(0, record.parts_size());
  if (!PiecesSize(record)) return all;  // a part's size is not stored
  if (part_number) {
    auto number = ParsePartNumber(*part_number);
    if (!number.ok() || !range.empty()) return all;
    auto slice = SliceOfPart(record, *number);
    if (!slice.ok() || slice->part < 0) return all;  // one piece, or an error to answer
    return {slice->part, slice->part + 1};
  }
  auto parsed = ParseRange(range, record.size());
  if (!parsed.ok() || !parsed->has_value()) return all;
  int first = -1, last = 0;
  uint64_t start = 0;
  for (int i = 0; i < record.parts_size(); ++i) {
    uint64_t end = start + *meta::pieces::PartSize(record.parts(i));
    if (end > (*parsed)->first && start <= (*parsed)->last) {
      if (first < 0) first = i;
      last = i + 1;
    }
    start = end;
  }
  return first < 0 ? std::pair<int, int>(0, 0) : std::pair<int, int>(first, last);
}

absl::Status GetObject(Ctx& ctx) { return Serve(ctx, true); }
absl::Status HeadObject(Ctx& ctx) { return Serve(ctx, false); }

}  // namespace mosaic::gateway
