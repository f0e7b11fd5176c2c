#include "server/gateway/meta/write_journal.h"

#include <spdlog/spdlog.h>

#include "client/crypto/secret.h"
#include "common/bytes.h"
#include "common/status.h"

namespace mosaic::gateway {
namespace {

std::string ObjectKey(const client::ObjectId& object) {
  return std::string(reinterpret_cast<const char*>(object.data()), object.size());
}

// This run of the gateway: its name and 8 random bytes (hex).
std::string WriterName(const std::string& gateway) {
  std::array<std::byte, 8> run{};
  client::RandomBytes(run);
  return gateway + "#" + HexEncode(run);
}

}  // namespace

WriteJournal::WriteJournal(MetaStore& meta, const std::string& gateway,
                           std::chrono::milliseconds ttl)
    : Worker("write journal", Options{.idle_wait = ttl / 4,
                                      .backoff_initial = std::chrono::milliseconds(500),
                                      .backoff_max = ttl / 4}),
      meta_(meta),
      writer_(WriterName(gateway)),
      ttl_(ttl) {}

absl::Status WriteJournal::Reserve(const client::ObjectId& object, int shards, uint64_t stripes) {
  WriteInFlight write{writer_, ObjectKey(object), static_cast<uint32_t>(shards), stripes};
  RETURN_IF_ERROR(meta_.MarkWrite(write));
  std::lock_guard lock(mu_);
  // Released and reserved again before the heartbeat (a repair of the object's next
  // stripes): the record must not go at that heartbeat.
  std::erase(released_, write.object_id);
  live_[write.object_id] = std::move(write);
  return absl::OkStatus();
}

void WriteJournal::Release(const client::ObjectId& object) {
  std::lock_guard lock(mu_);
  std::string id = ObjectKey(object);
  if (live_.erase(id) > 0) released_.push_back(std::move(id));
}

absl::StatusOr<WorkResult> WriteJournal::Step() {
  std::vector<std::string> released;
  uint64_t beat;
  {
    std::lock_guard lock(mu_);
    released.swap(released_);
    beat = beat_;
  }
  if (absl::Status s = meta_.EndWrites(writer_, released); !s.ok()) {
    std::lock_guard lock(mu_);  // kept for the next heartbeat
    released_.insert(released_.end(), released.begin(), released.end());
    return s;
  }
  ASSIGN_OR_RETURN(bool kept, meta_.BeatWriter(writer_, beat, beat + 1));
  std::vector<WriteInFlight> again;
  {
    std::lock_guard lock(mu_);
    beat_ = beat + 1;
    if (!kept) {
      for (const auto& [id, write] : live_) again.push_back(write);
    }
  }
  if (!kept && beat > 0) {
    spdlog::warn(
        "write journal: {} was dropped as dead (it did not beat for {} ms); recording "
        "its {} writes in progress again",
        writer_, ttl_.count(), again.size());
  }
  for (const WriteInFlight& write : again) {
    RETURN_IF_ERROR(meta_.MarkWrite(write));
    std::lock_guard lock(mu_);  // released meanwhile: its record goes at the next heartbeat
    if (!live_.contains(write.object_id)) released_.push_back(write.object_id);
  }
  return WorkResult::Idle(ttl_ / 4);
}

std::string WriteJournal::Detail() const {
  std::lock_guard lock(mu_);
  return std::to_string(live_.size()) + " writes in progress recorded as " + writer_;
}

bool WriterWatch::Dead(const std::string& writer, uint64_t count, Clock::time_point now) {
  if (writer == me_) return false;
  auto [it, fresh] = seen_.try_emplace(writer, count, now);
  if (!fresh && it->second.first != count) it->second = {count, now};
  return now - it->second.second >= ttl_;
}

}  // namespace mosaic::gateway
