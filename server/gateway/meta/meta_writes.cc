// MetaStore's writes in progress (meta_store.h, "Writes in progress"; meta/write_journal.h).
#include "common/status.h"
#include "server/gateway/meta/meta_store.h"
#include "server/gateway/meta/rocks_backend.h"
#include "server/gateway/meta/tables/writes.h"

namespace mosaic::gateway {

absl::Status MetaStore::MarkWrite(const WriteInFlight& write) {
  return backend_->Run([&](meta::Transaction& t) { return meta::writes::Put(t, write); });
}

absl::Status MetaStore::EndWrites(const std::string& writer,
                                  const std::vector<std::string>& object_ids) {
  if (object_ids.empty()) return absl::OkStatus();
  return backend_->Run([&](meta::Transaction& t) -> absl::Status {
    for (const std::string& id : object_ids) RETURN_IF_ERROR(meta::writes::Delete(t, writer, id));
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<WriteInFlight>> MetaStore::WritesInFlight() const {
  return meta::writes::List(*backend_->Snapshot());
}

absl::StatusOr<bool> MetaStore::BeatWriter(const std::string& writer, uint64_t expected,
                                           uint64_t beat) {
  bool swapped = false;
  RETURN_IF_ERROR(backend_->Run([&](meta::Transaction& t) -> absl::Status {
    ASSIGN_OR_RETURN(uint64_t current, meta::writes::GetBeat(t, writer, /*lock=*/true));
    swapped = current == expected;
    return meta::writes::PutBeat(t, writer, beat);
  }));
  return swapped;
}

absl::StatusOr<std::map<std::string, uint64_t>> MetaStore::WriterBeats() const {
  return meta::writes::Beats(*backend_->Snapshot());
}

absl::StatusOr<uint64_t> MetaStore::DropWriter(const std::string& writer) {
  uint64_t dropped = 0;
  RETURN_IF_ERROR(backend_->Run([&](meta::Transaction& t) -> absl::Status {
    ASSIGN_OR_RETURN(dropped, meta::writes::DropWriter(t, writer));
    return absl::OkStatus();
  }));
  return dropped;
}

}  // namespace mosaic::gateway
