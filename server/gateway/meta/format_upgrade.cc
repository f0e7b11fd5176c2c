#include "server/gateway/meta/format_upgrade.h"

#include <spdlog/spdlog.h>

#include <string>

#include "absl/strings/numbers.h"
#include "common/status.h"
#include "server/gateway/meta/tables/versions.h"

namespace mosaic::gateway::meta {
namespace {

constexpr std::string_view kFormatKey = "~format";
// Version rows visited per transaction.
constexpr size_t kPage = 512;

absl::Status IndexNullVersions(Backend& backend) {
  std::string from;
  do {
    std::string next;
    RETURN_IF_ERROR(backend.Run([&](Transaction& t) -> absl::Status {
      ASSIGN_OR_RETURN(next, versions::IndexNullVersions(t, from, kPage));
      return absl::OkStatus();
    }));
    from = std::move(next);
  } while (!from.empty());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int> RowFormat(Transaction& t) {
  ASSIGN_OR_RETURN(auto row, t.Get(kFormatKey));
  if (!row) return 1;
  int version = 0;
  if (!absl::SimpleAtoi(*row, &version) || version < 1) {
    return absl::DataLossError("metadata: malformed format row");
  }
  return version;
}

absl::Status UpgradeFormat(Backend& backend) {
  bool has_versions = false;
  {
    auto t = backend.Snapshot();
    ASSIGN_OR_RETURN(int format, RowFormat(*t));
    if (format > kRowFormat) {
      return absl::FailedPreconditionError("metadata: the rows are in format " +
                                           std::to_string(format) + ", newer than this gateway's " +
                                           std::to_string(kRowFormat) + " (upgrade the gateway)");
    }
    if (format == kRowFormat) return absl::OkStatus();
    RETURN_IF_ERROR(t->Scan(versions::BucketPrefix("").substr(0, 1), "",
                            [&](std::string_view, std::string_view) -> absl::StatusOr<bool> {
                              has_versions = true;
                              return false;
                            }));
  }
  if (!has_versions) return absl::OkStatus();  // nothing to index yet (header: restores)
  RETURN_IF_ERROR(IndexNullVersions(backend));
  RETURN_IF_ERROR(
      backend.Run([](Transaction& t) { return t.Put(kFormatKey, std::to_string(kRowFormat)); }));
  spdlog::info("metadata: rows upgraded to format {} (null-version index)", kRowFormat);
  return absl::OkStatus();
}

}  // namespace mosaic::gateway::meta
