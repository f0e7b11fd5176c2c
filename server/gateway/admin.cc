#include "server/gateway/admin.h"

#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <fstream>
#include <set>
#include <sstream>

#include "client/crypto/secret.h"
#include "common/metrics_server.h"
#include "common/sha256.h"
#include "common/status.h"
#include "server/gateway/config.h"
#include "server/gateway/console/console.h"
#include "server/gateway/drain_safety.h"
#include "server/gateway/gateway.h"
#include "server/gateway/grant_text.h"
#include "server/gateway/node_states.h"
#include "server/gateway/s3/router.h"
#include "server/gateway/scrub_admin.h"
#include "server/gateway/status.h"

namespace mosaic::gateway {
namespace {

std::string JsonString(std::string_view s) {
  return boost::json::serialize(boost::json::value(boost::json::string(s.data(), s.size())));
}

std::string KeysJson(const std::vector<v1::AccessKeyRecord>& keys) {
  std::string out = "[";
  for (size_t i = 0; i < keys.size(); ++i) {
    const auto& k = keys[i];
    out += (i ? ",\n" : "\n") + std::string("  {\"id\": ") + JsonString(k.id()) +
           ", \"name\": " + JsonString(k.name()) +
           (k.member().empty() ? "" : ", \"member\": " + JsonString(k.member())) +
           ", \"grants\": [";
    for (int g = 0; g < k.grants_size(); ++g)
      out += (g ? ", " : "") + JsonString(GrantText(k.grants(g)));
    out += "]}";
  }
  return out + "\n]\n";
}

// POST /admin/v1/keys with member=M: the key belongs to console member M (it ends with them
// and never does more than they may do now), and is refused when wider than M's rights.
absl::StatusOr<NewKey> CreateAdminKey(Gateway& gateway, Exchange& ex, const std::string& name,
                                      const std::vector<v1::Grant>& grants, const S3Request& req) {
  auto member = req.query.find("member");
  if (member == req.query.end()) return gateway.CreateKey(name, grants);
  console::Accounts& accounts = gateway.console().accounts();
  console::Actor cli{"cli", ex.client_address()};
  std::string target = name;
  for (const auto& g : grants) target += " " + GrantText(g);
  if (absl::Status held = accounts.CheckKeyGrants(member->second, grants); !held.ok()) {
    (void)accounts.Audit(cli, "key.create", member->second + ": " + target, false);
    return held;
  }
  ASSIGN_OR_RETURN(NewKey key, gateway.CreateKey(name, grants, KeyOwner{member->second, 0}));
  RETURN_IF_ERROR(accounts.Audit(cli, "key.create", key.id + " " + target, true));
  return key;
}

void HandleKeys(Gateway& gateway, Exchange& ex, const S3Request& req) {
  const std::string& method = ex.request().method;
  std::string_view path = ex.request().RawPath();
  if (method == "POST" && path == "/admin/v1/keys") {
    std::vector<v1::Grant> grants;
    // Grants arrive as grant=…&grant=…; the router keeps one value per name, so they are
    // also accepted comma-separated in one parameter.
    std::string all = req.query.contains("grant") ? req.query.at("grant") : "";
    std::stringstream split(all);
    std::string one;
    while (std::getline(split, one, ',')) {
      auto g = ParseGrant(one);
      if (!g.ok()) return (void)ex.Send(400, std::string(g.status().message()) + "\n");
      grants.push_back(*g);
    }
    std::string name = req.query.contains("name") ? req.query.at("name") : "";
    auto key = CreateAdminKey(gateway, ex, name, grants, req);
    if (!key.ok()) {
      int code = key.status().code() == absl::StatusCode::kPermissionDenied ? 403
                 : key.status().code() == absl::StatusCode::kNotFound       ? 404
                                                                            : 500;
      return (void)ex.Send(code, std::string(key.status().message()) + "\n");
    }
    ex.SetHeader("Content-Type", "application/json");
    return (void)ex.Send(200, "{\"id\": " + JsonString(key->id) +
                                  ", \"secret\": " + JsonString(key->secret) + "}\n");
  }
  if (method == "GET" && path == "/admin/v1/keys") {
    auto keys = gateway.ListKeys();
    if (!keys.ok()) return (void)ex.Send(500, keys.status().ToString() + "\n");
    ex.SetHeader("Content-Type", "application/json");
    return (void)ex.Send(200, KeysJson(*keys));
  }
  if (method == "DELETE" && path.starts_with("/admin/v1/keys/")) {
    auto deleted = gateway.DeleteKey(std::string(path.substr(15)));
    if (!deleted.ok()) return (void)ex.Send(500, deleted.status().ToString() + "\n");
    return (void)ex.Send(*deleted ? 204 : 404, "");
  }
  (void)ex.Send(404, "no such admin endpoint\n");
}

int HttpStatusOf(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kFailedPrecondition:
      return 409;
    case absl::StatusCode::kAlreadyExists:
      return 409;
    case absl::StatusCode::kInvalidArgument:
      return 400;
    default:
      return 500;
  }
}

void HandleStatus(Gateway& gateway, Exchange& ex) {
  auto doc = gateway.status().Document();
  if (!doc.ok()) return (void)ex.Send(500, doc.status().ToString() + "\n");
  ex.SetHeader("Content-Type", "application/json");
  (void)ex.Send(200, StatusJson(*doc));
}

std::string SurvivesJson(const std::optional<int>& survives) {
  return survives ? std::to_string(*survives) : "null";
}

// POST /admin/v1/nodes/ID/forget[?force=1] (NodeStates::Forget): 412 with the reason when
// refused; otherwise what was given up.
void HandleNodeForget(Gateway& gateway, Exchange& ex, std::string_view raw_id, bool force) {
  auto id = PercentDecode(raw_id, false);
  if (!id.ok()) return (void)ex.Send(400, "bad node id\n");
  auto forgotten = gateway.node_states().Forget(*id, force);
  if (!forgotten.ok()) {
    bool unsafe = forgotten.status().code() == absl::StatusCode::kFailedPrecondition;
    return (void)ex.Send(unsafe ? 412 : HttpStatusOf(forgotten.status()),
                         std::string(forgotten.status().message()) + "\n");
  }
  ex.SetHeader("Content-Type", "application/json");
  (void)ex.Send(200, "{\"node\": " + JsonString(*id) +
                         ", \"state\": \"forgotten\", \"shards_given_up\": " +
                         std::to_string(forgotten->shards) +
                         ", \"stripes\": " + std::to_string(forgotten->stripes) +
                         ", \"stripes_lost\": " + std::to_string(forgotten->stripes_lost) + "}\n");
}

// POST /admin/v1/nodes/ID/drain|remove|activate[?force=1]; `rest` is "ID/verb". A drain or
// remove that UnsafeReason refuses answers 412 with the reason unless forced.
void HandleNodeState(Gateway& gateway, Exchange& ex, std::string_view rest, bool force) {
  size_t slash = rest.rfind('/');
  if (slash == std::string_view::npos || slash == 0) {
    return (void)ex.Send(404, "expected /admin/v1/nodes/ID/drain|remove|activate\n");
  }
  std::string_view verb = rest.substr(slash + 1);
  if (verb == "forget") return HandleNodeForget(gateway, ex, rest.substr(0, slash), force);
  v1::NodeStateRecord::State state;
  if (verb == "drain")
    state = v1::NodeStateRecord::DRAINING;
  else if (verb == "remove")
    state = v1::NodeStateRecord::REMOVED;
  else if (verb == "activate")
    state = v1::NodeStateRecord::ACTIVE;
  else
    return (void)ex.Send(404, "unknown node action \"" + std::string(verb) + "\"\n");
  auto id = PercentDecode(rest.substr(0, slash), false);
  if (!id.ok()) return (void)ex.Send(400, "bad node id\n");
  std::optional<DrainImpact> impact;
  if (state != v1::NodeStateRecord::ACTIVE) {
    auto computed = gateway.status().ImpactOfDrain(*id);
    if (!computed.ok()) {
      return (void)ex.Send(HttpStatusOf(computed.status()),
                           std::string(computed.status().message()) + "\n");
    }
    impact = *std::move(computed);
    std::string unsafe = UnsafeReason(*impact, gateway.status().DefaultShards(), std::string(verb));
    if (!unsafe.empty() && !force) return (void)ex.Send(412, unsafe + "\n");
  }
  auto change = gateway.node_states().Set(*id, state);
  if (!change.ok()) {
    return (void)ex.Send(HttpStatusOf(change.status()),
                         std::string(change.status().message()) + "\n");
  }
  ex.SetHeader("Content-Type", "application/json");
  std::string body = "{\"node\": " + JsonString(*id) +
                     ", \"state\": " + JsonString(NodeStateName(change->record.state())) +
                     ", \"stripes_queued\": " + std::to_string(change->stripes_queued) +
                     ", \"shards\": " + std::to_string(change->record.shards_when_changed());
  if (impact) {
    body += ", \"survives_before\": " + SurvivesJson(impact->survives_before) +
            ", \"survives_after\": " + SurvivesJson(impact->survives_after) +
            ", \"stripes_doubled\": " + std::to_string(impact->stripes_doubled) +
            ", \"tolerance\": " + JsonString(ToleranceText(*impact, std::string(verb)));
  }
  (void)ex.Send(200, body + "}\n");
}

// The body of a small admin request (a JSON document); at most `limit` bytes.
absl::StatusOr<std::string> ReadSmallBody(Exchange& ex, size_t limit) {
  if (auto declared = ex.content_length(); declared && *declared > limit) {
    return absl::InvalidArgumentError("request body over " + std::to_string(limit) + " bytes");
  }
  std::string body;
  char buf[4096];
  while (true) {
    ASSIGN_OR_RETURN(size_t n, ex.ReadBody({reinterpret_cast<std::byte*>(buf), sizeof buf}));
    if (n == 0) return body;
    if (body.size() + n > limit) {
      return absl::InvalidArgumentError("request body over " + std::to_string(limit) + " bytes");
    }
    body.append(buf, n);
  }
}

// The node of a POST /admin/v1/nodes document: {"id", "provider", "address", "token", and
// optionally "site", "weight", "plaintext", "tls_ca_pem", "tls_server_name"}.
absl::StatusOr<client::NodeEndpoint> ParseNodeDocument(const std::string& text) {
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(text, ec);
  if (ec || !doc.is_object()) return absl::InvalidArgumentError("expected a JSON object");
  const boost::json::object& o = doc.as_object();
  for (const auto& field : o) {
    static const std::set<std::string_view> kKnown = {
        "id",    "provider",  "site",       "weight",          "address",
        "token", "plaintext", "tls_ca_pem", "tls_server_name", "tls_fingerprint"};
    if (!kKnown.contains(std::string_view(field.key()))) {
      return absl::InvalidArgumentError("unknown field \"" + std::string(field.key()) + "\"");
    }
  }
  client::NodeEndpoint e;
  auto text_field = [&](const char* name, std::string& out) -> absl::Status {
    const boost::json::value* v = o.if_contains(name);
    if (v == nullptr) return absl::OkStatus();
    if (!v->is_string())
      return absl::InvalidArgumentError(std::string(name) + ": expected a string");
    out = std::string(v->as_string());
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(text_field("id", e.spec.id));
  RETURN_IF_ERROR(text_field("provider", e.spec.provider));
  RETURN_IF_ERROR(text_field("site", e.spec.site));
  RETURN_IF_ERROR(text_field("address", e.address));
  RETURN_IF_ERROR(text_field("token", e.token));
  RETURN_IF_ERROR(text_field("tls_ca_pem", e.tls_ca_pem));
  RETURN_IF_ERROR(text_field("tls_server_name", e.tls_server_name));
  RETURN_IF_ERROR(text_field("tls_fingerprint", e.tls_fingerprint));
  if (const boost::json::value* v = o.if_contains("weight")) {
    if (!v->is_number()) return absl::InvalidArgumentError("weight: expected a number");
    e.spec.weight = v->to_number<double>();
  }
  if (const boost::json::value* v = o.if_contains("plaintext")) {
    if (!v->is_bool()) return absl::InvalidArgumentError("plaintext: expected true or false");
    e.plaintext = v->as_bool();
  }
  return e;
}

// POST /admin/v1/nodes: adds a node (NodeStates::Add).
void HandleNodeAdd(Gateway& gateway, Exchange& ex) {
  auto body = ReadSmallBody(ex, 64 << 10);
  if (!body.ok()) return (void)ex.Send(400, std::string(body.status().message()) + "\n");
  auto endpoint = ParseNodeDocument(*body);
  if (!endpoint.ok()) {
    return (void)ex.Send(400, "node document: " + std::string(endpoint.status().message()) + "\n");
  }
  std::string id = endpoint->spec.id;
  std::string provider = endpoint->spec.provider;
  auto added = gateway.node_states().Add(*std::move(endpoint));
  if (!added.ok()) {
    return (void)ex.Send(HttpStatusOf(added.status()),
                         std::string(added.status().message()) + "\n");
  }
  ex.SetHeader("Content-Type", "application/json");
  (void)ex.Send(200, "{\"node\": " + JsonString(id) + ", \"provider\": " + JsonString(provider) +
                         ", \"state\": \"active\"}\n");
}

}  // namespace

void HandleAdmin(Gateway& gateway, metrics::Registry& registry, const std::string& token,
                 client::NodePool& pool, Exchange& ex) {
  std::string_view path = ex.request().RawPath();
  ex.operation = "Admin";
  if (ex.request().method == "GET" && path == "/health") return (void)ex.Send(200, "ok\n");
  if (ex.request().method == "GET" && path == "/metrics") {
    auto states = gateway.node_states().States();
    for (int i = 0; i < pool.size(); ++i) {
      auto state = states.find(pool.node(i).id());
      if (state != states.end() && state->second.state() == v1::NodeStateRecord::FORGOTTEN) {
        continue;
      }
      registry
          .GetGauge(
              "mosaic_gateway_node_up", "1 when a node is up, 0.5 suspect, 0 down.",
              {{"node", pool.node(i).id()}, {"provider", pool.node(i).endpoint().spec.provider}})
          .Set(pool.node(i).health() == client::NodeHealth::kUp        ? 1
               : pool.node(i).health() == client::NodeHealth::kSuspect ? 0.5
                                                                       : 0);
    }
    ex.SetHeader("Content-Type", "text/plain; version=0.0.4");
    return (void)ex.Send(200, registry.RenderText());
  }
  std::string auth(ex.request().Header("authorization"));
  if (!ConstantTimeEquals(Sha256Hex(AsBytes(auth)), Sha256Hex(AsBytes("Bearer " + token)))) {
    return (void)ex.Send(401, "admin token required\n");
  }
  if (ex.request().method == "GET" && path == "/admin/v1/status") {
    return HandleStatus(gateway, ex);
  }
  if (console::HandleAccountsAdmin(gateway.console(), ex)) return;
  if (ex.request().method == "POST" && path == "/admin/v1/nodes") {
    return HandleNodeAdd(gateway, ex);
  }
  auto req = Route(ex.request(), "");
  if (!req.ok()) return (void)ex.Send(400, "bad request\n");
  if (ex.request().method == "POST" && path.starts_with("/admin/v1/nodes/")) {
    auto force = req->query.find("force");
    return HandleNodeState(gateway, ex, path.substr(16),
                           force != req->query.end() && force->second == "1");
  }
  if (HandleScrubAdmin(gateway.scrubber(), gateway.sweeper(), ex, *req)) return;
  HandleKeys(gateway, ex, *req);
}

absl::StatusOr<std::string> LoadOrCreateAdminToken(const std::string& dir) {
  std::string path = dir + "/admin.token";
  std::ifstream in(path);
  std::string token;
  if (in && std::getline(in, token) && !token.empty()) return token;
  std::string raw(32, '\0');
  client::RandomBytes({reinterpret_cast<std::byte*>(raw.data()), raw.size()});
  token = HexEncode(AsBytes(raw));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoToStatus(errno, "create " + path);
  std::string line = token + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::fsync(fd);
  ::close(fd);
  if (!ok) return absl::InternalError("cannot write " + path);
  return token;
}

}  // namespace mosaic::gateway
