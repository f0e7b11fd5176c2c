#pragma once
// An object's bytes, read across its pieces (one for a plain PUT, one per part for a
// multipart object; docs/architecture.md, "Multipart objects and shared data").

#include <deque>
#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "client/pipeline/object_reader.h"
#include "client/pipeline/pipeline.h"
#include "proto/mosaic/v1/meta.pb.h"

namespace mosaic::gateway {

// Reads [offset, offset + length) of the object (length clamped to its end). Pieces ahead of
// the one being read are opened and started early, up to the pipeline's byte budget, so
// that small parts (awscli's 8 MiB) stream as fast as one large piece.
class ObjectDataReader {
 public:
  // DATA_LOSS if a stored manifest is malformed or the pieces do not add up to the size.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ObjectDataReader>> Open(
      client::Pipeline& pipeline, const v1::ObjectRecord& record, uint64_t offset, uint64_t length);

  // The next bytes into `out`; 0 at the end.
  [[nodiscard]] absl::StatusOr<size_t> Read(ByteSpan out);
  // The next bytes, at most `max`, without a copy: a view into the decoded stripe, valid
  // until the next Read or Next call (client::ObjectReader::Next). Empty at the end.
  [[nodiscard]] absl::StatusOr<ConstByteSpan> Next(size_t max);

  // Shards that failed or were corrupt so far (stripe indexes are within their piece).
  std::vector<client::BadShard> faults() const;

 private:
  struct Span {
    size_t piece;
    uint64_t offset;  // in the piece
    uint64_t length;
  };
  ObjectDataReader(client::Pipeline& pipeline, const v1::ObjectRecord& record,
                   std::vector<Span> spans)
      : pipeline_(pipeline), record_(record), spans_(std::move(spans)) {}
  // Opens readers for the spans ahead, within the budget.
  absl::Status OpenAhead();

  client::Pipeline& pipeline_;
  v1::ObjectRecord record_;
  std::vector<Span> spans_;
  size_t next_span_ = 0;  // next span to open
  uint64_t open_bytes_ = 0;
  std::deque<std::unique_ptr<client::ObjectReader>> readers_;
  std::vector<client::BadShard> finished_faults_;
};

// Sum of the pieces' sizes (what record.size() must say); nullopt if a part's size is not
// known (read without its manifest from a record that does not store sizes).
std::optional<uint64_t> PiecesSize(const v1::ObjectRecord& record);

}  // namespace mosaic::gateway
