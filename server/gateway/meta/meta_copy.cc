#include "server/gateway/meta/meta_copy.h"

#include <cstdio>
#include <utility>
#include <vector>

#include "common/status.h"

namespace mosaic::gateway::meta {
namespace {

// What each table holds, for the operator (docs/architecture.md lists them).
const char* TableName(const std::string& table) {
  static const std::map<std::string, const char*> names = {
      {"B", "backup state"},
      {"K", "key state"},
      {"L", "audit log"},
      {"M", "console members"},
      {"Q", "repair index"},
      {"S", "console sessions"},
      {"T", "console teams"},
      {"U", "usage"},
      {"V", "null versions"},
      {"a", "access keys"},
      {"b", "buckets"},
      {"c", "completed uploads"},
      {"d", "deletion queue"},
      {"m", "pieces"},
      {"n", "node states"},
      {"o", "objects"},
      {"p", "parts"},
      {"q", "repair queue"},
      {"u", "uploads"},
      {"v", "versions"},
      {"~down/", "down nodes"},
      {"~format", "row format"},
      {"~inflight/", "writes in flight"},
      {"~lease/", "job leases"},
      {"~lifecycle", "lifecycle cursor"},
      {"~scrub/", "scrub findings"},
      {"~seq/", "sequences"},
      {"~writer/", "writer heartbeats"},
  };
  auto it = names.find(table);
  return it == names.end() ? "?" : it->second;
}

// FNV-1a of a row (key, then a separator that no key length confuses, then value).
uint64_t RowHash(std::string_view key, std::string_view value) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  };
  mix(key);
  std::string length = std::to_string(key.size());
  mix(length);
  mix(value);
  return h;
}

void Add(TableTallies& tallies, std::string_view key, std::string_view value) {
  TableTally& t = tallies[TableOf(key)];
  ++t.rows;
  t.bytes += key.size() + value.size();
  t.checksum += RowHash(key, value);
}

absl::Status Compare(const TableTallies& from, const TableTallies& to) {
  for (const auto& [table, tally] : from) {
    auto it = to.find(table);
    uint64_t rows = it == to.end() ? 0 : it->second.rows;
    if (it == to.end() || !(it->second == tally)) {
      return absl::DataLossError("metadata copy: table " + table + " (" + TableName(table) +
                                 ") has " + std::to_string(tally.rows) + " rows at the source, " +
                                 std::to_string(rows) + " at the destination" +
                                 (rows == tally.rows ? " with other contents" : ""));
    }
  }
  for (const auto& [table, tally] : to) {
    if (!from.contains(table)) {
      return absl::DataLossError("metadata copy: table " + table + " has " +
                                 std::to_string(tally.rows) + " rows not at the source");
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string TableOf(std::string_view key) {
  if (key.empty()) return "";
  if (key[0] != '~') return std::string(key.substr(0, 1));
  size_t slash = key.find('/');
  return std::string(slash == std::string_view::npos ? key : key.substr(0, slash + 1));
}

absl::StatusOr<TableTallies> TallyRows(const MetaStore& store) {
  TableTallies out;
  RETURN_IF_ERROR(store
                      .VisitSnapshot([&](std::string_view key, std::string_view value) {
                        Add(out, key, value);
                        return absl::OkStatus();
                      })
                      .status());
  return out;
}

absl::StatusOr<TableTallies> CopyAllRows(const MetaStore& from, MetaStore& to, size_t batch_rows) {
  ASSIGN_OR_RETURN(bool empty, to.Empty());
  if (!empty) {
    return absl::FailedPreconditionError(
        "the destination holds metadata already: copy into an empty database");
  }
  TableTallies copied;
  std::vector<std::pair<std::string, std::string>> batch;
  auto flush = [&]() -> absl::Status {
    RETURN_IF_ERROR(to.PutRaw(batch));
    batch.clear();
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(from.VisitSnapshot([&](std::string_view key, std::string_view value) {
                        Add(copied, key, value);
                        batch.emplace_back(key, value);
                        return batch.size() < batch_rows ? absl::OkStatus() : flush();
                      })
                      .status());
  if (!batch.empty()) RETURN_IF_ERROR(flush());
  ASSIGN_OR_RETURN(TableTallies written, TallyRows(to));
  RETURN_IF_ERROR(Compare(copied, written));
  return copied;
}

std::string FormatTallies(const TableTallies& tallies) {
  std::string out;
  TableTally total;
  char line[160];
  for (const auto& [table, t] : tallies) {
    std::snprintf(line, sizeof line, "  %-11s %-18s %10llu rows %12llu bytes\n", table.c_str(),
                  TableName(table), static_cast<unsigned long long>(t.rows),
                  static_cast<unsigned long long>(t.bytes));
    out += line;
    total.rows += t.rows;
    total.bytes += t.bytes;
  }
  std::snprintf(line, sizeof line, "  %-11s %-18s %10llu rows %12llu bytes\n", "all", "",
                static_cast<unsigned long long>(total.rows),
                static_cast<unsigned long long>(total.bytes));
  return out + line;
}

}  // namespace mosaic::gateway::meta
