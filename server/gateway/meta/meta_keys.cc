// MetaStore's master-key records (meta_store.h, "Master key"): the key state row and the
// rewrapping of pieces' data keys (server/gateway/key_rotation.h).
#include "common/status.h"
#include "server/gateway/meta/meta_store.h"
#include "server/gateway/meta/rocks_backend.h"
#include "server/gateway/meta/tables/key_state.h"
#include "server/gateway/meta/tables/pieces.h"

namespace mosaic::gateway {

absl::StatusOr<std::optional<v1::KeyStateRecord>> MetaStore::GetKeyState() const {
  return meta::key_state::Get(*backend_->Snapshot());
}

absl::Status MetaStore::PutKeyState(const v1::KeyStateRecord& state) {
  return backend_->Run([&](meta::Transaction& t) { return meta::key_state::Put(t, state); });
}

absl::StatusOr<uint64_t> MetaStore::RewrapPieces(const std::vector<std::string>& piece_ids,
                                                 const RewrapKey& rewrap) {
  uint64_t changed = 0;
  RETURN_IF_ERROR(backend_->Run([&](meta::Transaction& t) -> absl::Status {
    changed = 0;
    for (const std::string& id : piece_ids) {
      ASSIGN_OR_RETURN(auto piece, meta::pieces::Get(t, id, meta::Transaction::Lock::kExclusive));
      if (!piece) continue;  // deleted meanwhile: nothing to rewrap
      ASSIGN_OR_RETURN(std::optional<std::string> wrapped, rewrap(piece->manifest()));
      if (!wrapped) continue;
      piece->mutable_manifest()->set_wrapped_key(*wrapped);
      RETURN_IF_ERROR(meta::pieces::Put(t, id, *piece));
      ++changed;
    }
    return absl::OkStatus();
  }));
  return changed;
}

}  // namespace mosaic::gateway
