#include "server/gateway/backup/root.h"

#include <array>
#include <cstring>

#include "client/crypto/metadata_seal.h"
#include "client/pipeline/pipeline.h"
#include "common/bytes.h"
#include "common/check.h"
#include "common/sha256.h"
#include "common/status.h"

namespace mosaic::gateway {
namespace {

// With the NUL: no node id can make the hashed text of another one.
constexpr std::string_view kRootObjectPrefix{"mosaic root slot", 17};

std::string RootAad(int slot) { return "mosaic backup root slot " + std::to_string(slot); }

}  // namespace

int RootSlotOf(uint64_t generation) { return static_cast<int>(generation % kRootSlots); }

std::string RootSlotChunkId(const client::KeyRing& ring, int slot, std::string_view node_id) {
  CHECK(slot >= 0 && slot < kRootSlots);
  std::string text = std::string(kRootObjectPrefix) + std::string(node_id);
  std::array<uint8_t, 32> digest = Sha256(AsBytes(text));
  client::ObjectId id{};
  std::memcpy(id.data(), digest.data(), id.size());
  return client::ChunkIdString(ring.ComputeOwnChunkId(id, static_cast<uint64_t>(slot), 0));
}

std::string SealRoot(const client::KeyRing& ring, const v1::BackupRoot& root, int slot) {
  return client::SealMetadata(ring, root.SerializeAsString(), RootAad(slot));
}

absl::StatusOr<v1::BackupRoot> OpenRoot(const client::KeyRing& ring, std::string_view sealed,
                                        int slot) {
  ASSIGN_OR_RETURN(std::string plain, client::OpenMetadata(ring, sealed, RootAad(slot)));
  v1::BackupRoot root;
  if (!root.ParseFromString(plain)) return absl::DataLossError("backup root does not parse");
  return root;
}

std::optional<v1::BackupRoot> NewestRoot(const std::vector<v1::BackupRoot>& roots) {
  const v1::BackupRoot* best = nullptr;
  for (const auto& r : roots) {
    if (best == nullptr || r.generation() > best->generation()) best = &r;
  }
  if (best == nullptr) return std::nullopt;
  return *best;
}

}  // namespace mosaic::gateway
