#include "server/gateway/meta/tables/writes.h"

#include "common/bytes.h"

namespace mosaic::gateway::meta::writes {
namespace {

constexpr std::string_view kWrites = "~inflight/";
constexpr std::string_view kBeats = "~writer/";
constexpr size_t kObjectIdBytes = 16;

std::string WriteKey(const std::string& writer, const std::string& object_id) {
  std::string key(kWrites);
  key += writer;
  key.push_back('\0');
  key += object_id;
  return key;
}

}  // namespace

absl::Status Put(Transaction& t, const WriteInFlight& write) {
  if (write.object_id.size() != kObjectIdBytes || write.writer.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("metadata: malformed write in progress");
  }
  std::string value;
  AppendBE64(value, write.stripes);
  value += EncodeBE32(write.shards);
  return t.Put(WriteKey(write.writer, write.object_id), value);
}

absl::Status Delete(Transaction& t, const std::string& writer, const std::string& object_id) {
  return t.Delete(WriteKey(writer, object_id));
}

absl::StatusOr<std::vector<WriteInFlight>> List(Transaction& t) {
  std::vector<WriteInFlight> out;
  RETURN_IF_ERROR(t.Scan(
      kWrites, "", [&](std::string_view key, std::string_view value) -> absl::StatusOr<bool> {
        std::string_view rest = key.substr(kWrites.size());
        size_t nul = rest.find('\0');
        if (nul == std::string_view::npos || rest.size() - nul - 1 != kObjectIdBytes ||
            value.size() != 12) {
          return absl::DataLossError("metadata: malformed write in progress");
        }
        out.push_back({std::string(rest.substr(0, nul)), std::string(rest.substr(nul + 1)),
                       LoadBE32(value.data() + 8), LoadBE64(value.data())});
        return true;
      }));
  return out;
}

absl::StatusOr<uint64_t> GetBeat(Transaction& t, const std::string& writer, bool lock) {
  std::string key = std::string(kBeats) + writer;
  ASSIGN_OR_RETURN(auto value, lock ? t.GetForUpdate(key) : t.Get(key));
  if (!value) return 0;
  if (value->size() != 8) return absl::DataLossError("metadata: malformed writer heartbeat");
  return LoadBE64(value->data());
}

absl::Status PutBeat(Transaction& t, const std::string& writer, uint64_t beat) {
  std::string value;
  AppendBE64(value, beat);
  return t.Put(std::string(kBeats) + writer, value);
}

absl::StatusOr<std::map<std::string, uint64_t>> Beats(Transaction& t) {
  std::map<std::string, uint64_t> out;
  RETURN_IF_ERROR(
      t.Scan(kBeats, "", [&](std::string_view key, std::string_view value) -> absl::StatusOr<bool> {
        if (value.size() != 8) return absl::DataLossError("metadata: malformed writer heartbeat");
        out.emplace(std::string(key.substr(kBeats.size())), LoadBE64(value.data()));
        return true;
      }));
  return out;
}

absl::StatusOr<uint64_t> DropWriter(Transaction& t, const std::string& writer) {
  std::vector<std::string> keys;
  std::string prefix = std::string(kWrites) + writer;
  prefix.push_back('\0');
  RETURN_IF_ERROR(t.Scan(prefix, "", [&](std::string_view key, std::string_view) {
    keys.emplace_back(key);
    return absl::StatusOr<bool>(true);
  }));
  for (const std::string& key : keys) RETURN_IF_ERROR(t.Delete(key));
  RETURN_IF_ERROR(t.Delete(std::string(kBeats) + writer));
  return keys.size();
}

}  // namespace mosaic::gateway::meta::writes
