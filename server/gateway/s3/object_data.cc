#include "server/gateway/s3/object_data.h"

#include "common/status.h"
#include "server/gateway/meta/manifest_codec.h"
#include "server/gateway/meta/tables/pieces.h"

namespace mosaic::gateway {

std::optional<uint64_t> PiecesSize(const v1::ObjectRecord& record) {
  uint64_t total = 0;
  for (const auto& part : record.parts()) {
    std::optional<uint64_t> size = meta::pieces::PartSize(part);
    if (!size) return std::nullopt;
    total += *size;
  }
  return total;
}

absl::StatusOr<std::unique_ptr<ObjectDataReader>> ObjectDataReader::Open(
    client::Pipeline& pipeline, const v1::ObjectRecord& record, uint64_t offset, uint64_t length) {
  if (PiecesSize(record) != record.size()) {
    return absl::DataLossError("object record: its pieces do not add up to its size");
  }
  if (offset > record.size()) return absl::OutOfRangeError("offset past the end of the object");
  length = std::min(length, record.size() - offset);
  std::vector<Span> spans;
  uint64_t start = 0;
  for (size_t i = 0; i < size_t(record.parts_size()) && length > 0; ++i) {
    uint64_t size = *meta::pieces::PartSize(record.parts(int(i)));
    if (offset < start + size) {
      uint64_t in_piece = offset - start;
      uint64_t n = std::min(length, size - in_piece);
      spans.push_back({i, in_piece, n});
      offset += n;
      length -= n;
    }
    start += size;
  }
  auto reader =
      std::unique_ptr<ObjectDataReader>(new ObjectDataReader(pipeline, record, std::move(spans)));
  RETURN_IF_ERROR(reader->OpenAhead());
  return reader;
}

absl::Status ObjectDataReader::OpenAhead() {
  uint64_t budget = pipeline_.options().budget_bytes;
  while (next_span_ < spans_.size() && (readers_.empty() || open_bytes_ < budget)) {
    const Span& span = spans_[next_span_];
    ASSIGN_OR_RETURN(client::ObjectManifest manifest,
                     FromProto(record_.parts(int(span.piece)).manifest()));
    ASSIGN_OR_RETURN(auto reader, pipeline_.NewReader(manifest, span.offset, span.length));
    reader->Start();
    open_bytes_ += span.length;
    readers_.push_back(std::move(reader));
    ++next_span_;
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> ObjectDataReader::Read(ByteSpan out) {
  while (!readers_.empty()) {
    ASSIGN_OR_RETURN(size_t n, readers_.front()->Read(out));
    if (n > 0) {
      open_bytes_ -= n;
      return n;
    }
    for (auto& f : readers_.front()->faults()) finished_faults_.push_back(std::move(f));
    readers_.pop_front();
    RETURN_IF_ERROR(OpenAhead());
  }
  return 0;
}

absl::StatusOr<ConstByteSpan> ObjectDataReader::Next(size_t max) {
  while (!readers_.empty()) {
    ASSIGN_OR_RETURN(ConstByteSpan view, readers_.front()->Next(max));
    if (!view.empty() || max == 0) {
      open_bytes_ -= view.size();
      return view;
    }
    for (auto& f : readers_.front()->faults()) finished_faults_.push_back(std::move(f));
    readers_.pop_front();
    RETURN_IF_ERROR(OpenAhead());
  }
  return ConstByteSpan{};
}

std::vector<client::BadShard> ObjectDataReader::faults() const {
  std::vector<client::BadShard> out = finished_faults_;
  for (const auto& r : readers_) {
    for (auto& f : r->faults()) out.push_back(std::move(f));
  }
  return out;
}

}  // namespace mosaic::gateway
