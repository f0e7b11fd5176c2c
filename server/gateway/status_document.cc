// The status document: JSON for the admin API and the CLI, and the text `mosaic status`
// prints (declared in status.h).

#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "common/units.h"
#include "server/gateway/status.h"

namespace mosaic::gateway {
namespace {

namespace json = boost::json;

json::value Optional(const std::optional<uint64_t>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}
json::value Optional(const std::optional<double>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

json::object NodeJson(const NodeRow& n) {
  json::object o;
  o["id"] = n.id;
  o["address"] = n.address;
  o["health"] = n.health;
  o["state"] = n.state;
  o["last_seen_ms"] = n.last_seen_ms;
  o["latency_ms"] = std::round(n.latency_ms * 1000) / 1000;
  o["used_bytes"] = n.used_bytes;
  o["free_bytes"] = n.free_bytes;
  o["capacity_bytes"] = n.capacity_bytes;
  o["quota_bytes"] = n.quota_bytes;
  o["corrupt_chunks"] = n.corrupt_chunks;
  o["shards"] = Optional(n.shards);
  o["declared_down_in_s"] = Optional(n.declared_down_in_s);
  return o;
}

json::object SafetyJson(const SafetyReport& s) {
  json::object o;
  o["objects_and_parts"] = s.pieces;
  o["pieces"] = s.pieces;
  o["bytes"] = s.bytes;
  o["stripes"] = s.stripes;
  o["healthy"] = s.healthy();
  json::object missing;
  for (const auto& [count, stripes] : s.missing) {
    if (count > 0) missing[std::to_string(count)] = stripes;
  }
  o["missing"] = std::move(missing);
  o["lost"] = s.lost;
  o["at_risk"] = s.at_risk;
  o["under_spread"] = s.under_spread;
  o["survives_provider_losses"] =
      s.losses_survived ? json::value(*s.losses_survived) : json::value(nullptr);
  o["complete"] = s.complete;
  o["computed_ms"] = s.computed_ms;
  o["scan_ms"] = std::round(s.scan_ms * 10) / 10;
  return o;
}

// Readers that accept what StatusJson writes and treat anything absent or null as unknown.
const json::value* Field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v == nullptr || v->is_null() ? nullptr : v;
}
std::optional<double> Number(const json::object& o, std::string_view key) {
  const json::value* v = Field(o, key);
  if (v == nullptr) return std::nullopt;
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_double()) return v->get_double();
  return std::nullopt;
}
std::optional<uint64_t> Count(const json::object& o, std::string_view key) {
  const json::value* v = Field(o, key);
  if (v == nullptr) return std::nullopt;
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64() && v->get_int64() >= 0) return static_cast<uint64_t>(v->get_int64());
  return std::nullopt;
}
uint64_t CountOr0(const json::object& o, std::string_view key) { return Count(o, key).value_or(0); }
int64_t Int(const json::object& o, std::string_view key) {
  return static_cast<int64_t>(Number(o, key).value_or(0));
}
std::string Text(const json::object& o, std::string_view key) {
  const json::value* v = Field(o, key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}
const json::object& Object(const json::object& o, std::string_view key) {
  static const json::object kEmpty;
  const json::value* v = Field(o, key);
  return v != nullptr && v->is_object() ? v->get_object() : kEmpty;
}
const json::array& Array(const json::object& o, std::string_view key) {
  static const json::array kEmpty;
  const json::value* v = Field(o, key);
  return v != nullptr && v->is_array() ? v->get_array() : kEmpty;
}

NodeRow ParseNode(const json::object& o, const std::string& provider) {
  NodeRow n;
  n.id = Text(o, "id");
  n.provider = provider;
  n.address = Text(o, "address");
  n.health = Text(o, "health");
  n.state = Text(o, "state");
  n.last_seen_ms = Int(o, "last_seen_ms");
  n.latency_ms = Number(o, "latency_ms").value_or(0);
  n.used_bytes = CountOr0(o, "used_bytes");
  n.free_bytes = CountOr0(o, "free_bytes");
  n.capacity_bytes = CountOr0(o, "capacity_bytes");
  n.quota_bytes = CountOr0(o, "quota_bytes");
  n.corrupt_chunks = CountOr0(o, "corrupt_chunks");
  n.shards = Count(o, "shards");
  n.declared_down_in_s = Number(o, "declared_down_in_s");
  return n;
}

SafetyReport ParseSafety(const json::object& o) {
  SafetyReport s;
  s.pieces = Count(o, "objects_and_parts").value_or(CountOr0(o, "pieces"));
  s.bytes = CountOr0(o, "bytes");
  s.stripes = CountOr0(o, "stripes");
  if (uint64_t healthy = CountOr0(o, "healthy"); healthy > 0) s.missing[0] = healthy;
  for (const auto& entry : Object(o, "missing")) {
    int count = std::atoi(std::string(entry.key()).c_str());
    if (count > 0 && entry.value().is_number()) {
      s.missing[count] = entry.value().to_number<uint64_t>();
    }
  }
  s.lost = CountOr0(o, "lost");
  s.at_risk = CountOr0(o, "at_risk");
  s.under_spread = CountOr0(o, "under_spread");
  if (auto survives = Number(o, "survives_provider_losses")) {
    s.losses_survived = static_cast<int>(*survives);
  }
  const json::value* complete = Field(o, "complete");
  s.complete = complete == nullptr || !complete->is_bool() || complete->get_bool();
  s.computed_ms = Int(o, "computed_ms");
  s.scan_ms = Number(o, "scan_ms").value_or(0);
  return s;
}

std::string Plural(uint64_t n, const char* one, const char* many) {
  return Thousands(n) + " " + (n == 1 ? one : many);
}

std::string Ago(int64_t then_ms, int64_t now_ms) {
  if (then_ms <= 0) return "never";
  int64_t s = std::max<int64_t>(0, (now_ms - then_ms) / 1000);
  if (s < 120) return std::to_string(s) + "s ago";
  if (s < 7200) return std::to_string(s / 60) + "m ago";
  if (s < 172800) return std::to_string(s / 3600) + "h ago";
  return std::to_string(s / 86400) + "d ago";
}

std::string Duration(double seconds) {
  auto s = static_cast<int64_t>(std::ceil(seconds));
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m " + std::to_string(s % 60) + "s";
  return std::to_string(s / 3600) + "h " + std::to_string(s % 3600 / 60) + "m";
}

std::string Pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

// "unreachable (declared down in 42s)", "declared down, repairing", "up (3 corrupt)".
std::string HealthText(const NodeRow& n) {
  std::string out = n.health;
  if (n.health == "unreachable" && n.declared_down_in_s) {
    out += " (declared down in " + Duration(*n.declared_down_in_s) + ")";
  } else if (n.health == "declared down" && n.shards) {
    out += *n.shards > 0 ? ", repairing" : ", repaired";
  }
  if (n.corrupt_chunks) out += " (" + Thousands(n.corrupt_chunks) + " corrupt)";
  return out;
}

std::string NodeTable(const std::vector<NodeRow>& nodes, int64_t now_ms) {
  std::vector<std::vector<std::string>> rows = {{"PROVIDER", "NODE", "HEALTH", "STATE", "LAST SEEN",
                                                 "LATENCY", "USED", "FREE", "QUOTA", "SHARDS"}};
  for (const NodeRow& n : nodes) {
    char latency[32];
    std::snprintf(latency, sizeof latency, "%.1f ms", n.latency_ms);
    std::string health = HealthText(n);
    rows.push_back({n.provider, n.id, health, n.state, Ago(n.last_seen_ms, now_ms),
                    n.last_seen_ms > 0 ? latency : "-", FormatSize(n.used_bytes),
                    n.capacity_bytes ? FormatSize(n.free_bytes) : "-",
                    n.quota_bytes ? FormatSize(n.quota_bytes) : "-",
                    n.shards ? Thousands(*n.shards) : "-"});
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      line += c + 1 == row.size() ? row[c] : Pad(row[c], width[c] + 2);
    }
    out += line + "\n";
  }
  return out;
}

std::string SurvivesText(const SafetyReport& s) {
  if (!s.losses_survived || *s.losses_survived < 0) return "";
  if (*s.losses_survived == 0) return "; does not survive the loss of any provider";
  return "; survives the loss of " + Plural(*s.losses_survived, "provider", "providers");
}

std::string SafetyText(const SafetyReport& s) {
  if (s.stripes == 0) return "no data stored yet";
  std::string out;
  if (s.healthy() == s.stripes) {
    out = "all " + Plural(s.stripes, "stripe", "stripes") + " healthy";
  } else {
    out = Thousands(s.healthy()) + " of " + Plural(s.stripes, "stripe", "stripes") + " healthy";
    for (const auto& [count, stripes] : s.missing) {
      if (count > 0 && stripes > 0) {
        out += ", " + Thousands(stripes) + " missing " + Plural(count, "shard", "shards");
      }
    }
    if (s.lost > 0) out += ", " + Thousands(s.lost) + " LOST (fewer than k shards left)";
  }
  if (s.at_risk > 0) {
    out += ", " + Thousands(s.at_risk) + " at risk (a shard on an unreachable node)";
  }
  if (s.under_spread > 0) {
    out += ", " + Thousands(s.under_spread) + " under-spread (two shards at one provider)";
  }
  out += SurvivesText(s);
  if (!s.complete) out += " (scan cut short: partial counts)";
  return out;
}

std::string RepairText(const RepairProgressView& r) {
  std::string out = r.backlog == 0 ? "none" : Plural(r.backlog, "stripe", "stripes") + " queued";
  std::vector<std::string> details;
  if (r.done) details.push_back(Thousands(*r.done) + " shards repaired since start");
  if (r.bytes_per_second && *r.bytes_per_second > 0) {
    details.push_back(FormatSize(static_cast<uint64_t>(*r.bytes_per_second)) + "/s");
  }
  if (r.backlog > 0 && r.eta_seconds) {
    details.push_back("about " + Duration(*r.eta_seconds) + " left");
  }
  for (size_t i = 0; i < details.size(); ++i) out += (i ? ", " : " (") + details[i];
  return details.empty() ? out : out + ")";
}

std::string BackupText(const BackupView& b, int64_t now_ms) {
  std::string out;
  if (b.last_success_ms <= 0) {
    out = "no backup yet";
  } else {
    out = "lag " + Duration(b.lag_seconds.value_or(0)) + " (writes before " +
          FormatUtcMs(b.covered_ms) + " are on the nodes), last backup " +
          Ago(b.last_success_ms, now_ms) + ", generation " + std::to_string(b.generation);
  }
  if (!b.last_error.empty()) out += "; last attempt FAILED: " + b.last_error;
  return out;
}

std::string DrainText(const DrainRow& d) {
  std::string out = d.node + " (" + d.state + "): ";
  if (d.shards_left == 0) return out + "holds no shard any more";
  out += Plural(d.shards_left, "shard", "shards") + " left";
  if (d.shards_at_start >= d.shards_left && d.shards_at_start > 0) {
    uint64_t moved = d.shards_at_start - d.shards_left;
    out += " of " + Thousands(d.shards_at_start) + ", " +
           std::to_string(moved * 100 / d.shards_at_start) + "% moved";
  }
  return out;
}

json::array WorkersJson(const std::vector<WorkerStatus>& workers) {
  json::array out;
  for (const WorkerStatus& w : workers) {
    out.push_back(json::object{{"name", w.name},
                               {"state", std::string(WorkerStateName(w.state))},
                               {"detail", w.detail},
                               {"last_error", w.last_error},
                               {"errors_in_a_row", w.errors_in_a_row},
                               {"steps", w.steps},
                               {"next_step_ms", w.next_step_ms},
                               {"standby", w.standby},
                               {"leader", w.leader}});
  }
  return out;
}

WorkerStatus ParseWorker(const json::object& o) {
  WorkerStatus w;
  w.name = Text(o, "name");
  std::string state = Text(o, "state");
  for (auto s :
       {WorkerState::kStarting, WorkerState::kBusy, WorkerState::kThrottled, WorkerState::kIdle,
        WorkerState::kBackoff, WorkerState::kDone, WorkerState::kStopped}) {
    if (WorkerStateName(s) == state) w.state = s;
  }
  w.detail = Text(o, "detail");
  w.last_error = Text(o, "last_error");
  w.errors_in_a_row = static_cast<uint32_t>(CountOr0(o, "errors_in_a_row"));
  w.steps = CountOr0(o, "steps");
  w.next_step_ms = Field(o, "next_step_ms") != nullptr ? Int(o, "next_step_ms") : -1;
  const json::value* standby = Field(o, "standby");
  w.standby = standby != nullptr && standby->is_bool() && standby->get_bool();
  w.leader = Text(o, "leader");
  return w;
}

}  // namespace

std::string Thousands(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string StatusJson(const StatusDocument& doc) {
  json::object root;
  root["generated_ms"] = doc.generated_ms;
  root["profile"] = json::object{{"k", doc.k}, {"m", doc.m}};
  json::array providers;
  for (size_t i = 0; i < doc.nodes.size();) {
    json::array nodes;
    size_t j = i;
    for (; j < doc.nodes.size() && doc.nodes[j].provider == doc.nodes[i].provider; ++j) {
      nodes.push_back(NodeJson(doc.nodes[j]));
    }
    providers.push_back(json::object{{"name", doc.nodes[i].provider}, {"nodes", std::move(nodes)}});
    i = j;
  }
  root["providers"] = std::move(providers);
  root["safety"] = SafetyJson(doc.safety);
  json::object repair{{"count", doc.repair.backlog},
                      {"done", Optional(doc.repair.done)},
                      {"bytes_per_second", Optional(doc.repair.bytes_per_second)},
                      {"eta_seconds", Optional(doc.repair.eta_seconds)}};
  root["backlog"] = json::object{{"repair", std::move(repair)},
                                 {"deletion", json::object{{"count", doc.deletion_backlog}}}};
  json::array drains;
  for (const DrainRow& d : doc.drains) {
    drains.push_back(json::object{{"node", d.node},
                                  {"state", d.state},
                                  {"since_ms", d.since_ms},
                                  {"shards_at_start", d.shards_at_start},
                                  {"shards_left", d.shards_left}});
  }
  root["drains"] = std::move(drains);
  if (doc.backup) {
    const BackupView& b = *doc.backup;
    root["backup"] = json::object{{"last_success_ms", b.last_success_ms},
                                  {"covered_ms", b.covered_ms},
                                  {"lag_seconds", Optional(b.lag_seconds)},
                                  {"generation", b.generation},
                                  {"last_error", b.last_error}};
  } else {
    root["backup"] = nullptr;
  }
  root["workers"] = WorkersJson(doc.workers);
  return json::serialize(root) + "\n";
}

namespace {

StatusDocument ParseDocument(const boost::json::object& o) {
  StatusDocument doc;
  doc.generated_ms = Int(o, "generated_ms");
  doc.k = static_cast<int>(Int(Object(o, "profile"), "k"));
  doc.m = static_cast<int>(Int(Object(o, "profile"), "m"));
  for (const json::value& p : Array(o, "providers")) {
    if (!p.is_object()) continue;
    std::string name = Text(p.get_object(), "name");
    for (const json::value& n : Array(p.get_object(), "nodes")) {
      if (n.is_object()) doc.nodes.push_back(ParseNode(n.get_object(), name));
    }
  }
  doc.safety = ParseSafety(Object(o, "safety"));
  const json::object& repair = Object(Object(o, "backlog"), "repair");
  doc.repair.backlog = CountOr0(repair, "count");
  doc.repair.done = Count(repair, "done");
  doc.repair.bytes_per_second = Number(repair, "bytes_per_second");
  doc.repair.eta_seconds = Number(repair, "eta_seconds");
  doc.deletion_backlog = CountOr0(Object(Object(o, "backlog"), "deletion"), "count");
  for (const json::value& d : Array(o, "drains")) {
    if (!d.is_object()) continue;
    const json::object& r = d.get_object();
    doc.drains.push_back({Text(r, "node"), Text(r, "state"), Int(r, "since_ms"),
                          CountOr0(r, "shards_at_start"), CountOr0(r, "shards_left")});
  }
  if (Field(o, "backup") != nullptr) {
    const json::object& b = Object(o, "backup");
    doc.backup =
        BackupView{Int(b, "last_success_ms"), Int(b, "covered_ms"), Number(b, "lag_seconds"),
                   CountOr0(b, "generation"), Text(b, "last_error")};
  }
  for (const json::value& w : Array(o, "workers")) {
    if (w.is_object()) doc.workers.push_back(ParseWorker(w.get_object()));
  }
  return doc;
}

}  // namespace

absl::StatusOr<StatusDocument> ParseStatusJson(std::string_view text) {
  boost::system::error_code ec;
  json::value root = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec || !root.is_object() || !root.get_object().contains("safety")) {
    return absl::InvalidArgumentError("not a status document" +
                                      (ec ? ": " + ec.message() : std::string()));
  }
  try {
    return ParseDocument(root.get_object());
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(std::string("malformed status document: ") + e.what());
  }
}

std::string StatusText(const StatusDocument& doc, int64_t now_ms) {
  std::string out = NodeTable(doc.nodes, now_ms) + "\n";
  const SafetyReport& s = doc.safety;
  out += "Data:      " + Plural(s.pieces, "object or part", "objects and parts") + ", " +
         FormatSize(s.bytes) + " in " + Plural(s.stripes, "stripe", "stripes") +
         " (default profile " + std::to_string(doc.k) + "+" + std::to_string(doc.m) + ")\n";
  out += "Safety:    " + SafetyText(s) + "\n";
  out += "Repair:    " + RepairText(doc.repair) + "\n";
  out +=
      "Deletion:  " +
      (doc.deletion_backlog == 0 ? std::string("none")
                                 : Plural(doc.deletion_backlog, "entry", "entries") + " queued") +
      "\n";
  for (const DrainRow& d : doc.drains) out += "Drain:     " + DrainText(d) + "\n";
  if (doc.backup) out += "Backup:    " + BackupText(*doc.backup, now_ms) + "\n";
  if (!doc.workers.empty()) out += "Workers:\n";
  for (const WorkerStatus& w : doc.workers) out += "  " + WorkerStatusLine(w) + "\n";
  return out;
}

}  // namespace mosaic::gateway
