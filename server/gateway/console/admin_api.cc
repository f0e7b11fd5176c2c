// The admin's API: members, teams, grants, every key, the audit log and the data's safety
// (the safety page's actions: safety_api.cc). Every route needs an admin session (PERMISSION_DENIED
// otherwise).

#include "common/status.h"
#include "server/gateway/console/internal/api.h"
#include "server/gateway/meta/meta_store.h"
#include "server/gateway/status.h"

namespace mosaic::gateway::console {
namespace {

bool BoolField(const boost::json::object& body, const char* name) {
  auto it = body.find(name);
  return it != body.end() && it->value().is_bool() && it->value().as_bool();
}

}  // namespace

boost::json::array MembersJson(const std::vector<v1::MemberRecord>& members) {
  boost::json::array out;
  for (const auto& m : members) {
    boost::json::array teams;
    for (const auto& t : m.teams()) teams.push_back(boost::json::string(t));
    out.push_back(boost::json::object{{"name", m.name()},
                                      {"admin", m.admin()},
                                      {"teams", teams},
                                      {"grants", GrantsJson(m.grants())},
                                      {"created_ms", m.created_ms()}});
  }
  return out;
}

namespace {

boost::json::array AuditJson(const std::vector<v1::AuditRecord>& lines) {
  boost::json::array out;
  for (const auto& r : lines) {
    out.push_back(boost::json::object{{"time_ms", r.time_ms()},
                                      {"actor", r.actor()},
                                      {"action", r.action()},
                                      {"target", r.target()},
                                      {"from", r.from()},
                                      {"ok", r.ok()}});
  }
  return out;
}

absl::StatusOr<boost::json::value> SetGrant(Console::Impl& c, Call& call) {
  std::string kind = Field(call.body, "kind");
  if (kind != "member" && kind != "team") return absl::InvalidArgumentError("kind: member|team");
  v1::Grant grant;
  grant.set_bucket(Field(call.body, "bucket"));
  grant.set_prefix(Field(call.body, "prefix"));
  ASSIGN_OR_RETURN(auto right, ParseRight(Field(call.body, "right")));
  grant.set_right(right);
  Subject to{kind == "team" ? Subject::Kind::kTeam : Subject::Kind::kMember,
             Field(call.body, "name")};
  RETURN_IF_ERROR(c.accounts.SetGrant(to, grant, call.actor));
  return boost::json::object{{"ok", true}};
}

absl::StatusOr<boost::json::value> Status(Console::Impl& c) {
  ASSIGN_OR_RETURN(auto doc, c.deps.gateway.status().Document());
  return boost::json::parse(StatusJson(doc));
}

}  // namespace

absl::StatusOr<std::optional<boost::json::value>> Console::Impl::AdminRoutes(Call& call) {
  const std::string& m = call.method;
  const std::string& p = call.path;
  if (!p.starts_with("/admin/")) return std::nullopt;
  if (!call.session->admin) return absl::PermissionDeniedError("admins only");
  const auto& body = call.body;
  auto ok = [] { return boost::json::value(boost::json::object{{"ok", true}}); };
  if (m == "GET" && p == "/admin/members") {
    ASSIGN_OR_RETURN(auto members, accounts.ListMembers());
    return MembersJson(members);
  }
  if (m == "POST" && p == "/admin/members") {
    std::string name = Field(body, "name");
    ASSIGN_OR_RETURN(auto password, accounts.AddMember(name, BoolField(body, "admin"), call.actor));
    return boost::json::object{{"name", name}, {"password", password}};
  }
  if (m == "POST" && p == "/admin/members/remove") {
    RETURN_IF_ERROR(accounts.RemoveMember(Field(body, "name"), call.actor));
    return ok();
  }
  if (m == "POST" && p == "/admin/members/reset") {
    ASSIGN_OR_RETURN(auto password, accounts.ResetPassword(Field(body, "name"), call.actor));
    return boost::json::object{{"password", password}};
  }
  if (m == "GET" && p == "/admin/teams") {
    ASSIGN_OR_RETURN(auto teams, accounts.ListTeams());
    boost::json::array out;
    for (const auto& t : teams) {
      out.push_back(boost::json::object{{"name", t.name()}, {"grants", GrantsJson(t.grants())}});
    }
    return out;
  }
  if (m == "POST" && p == "/admin/teams") {
    RETURN_IF_ERROR(accounts.CreateTeam(Field(body, "name"), call.actor));
    return ok();
  }
  if (m == "POST" && p == "/admin/teams/delete") {
    RETURN_IF_ERROR(accounts.DeleteTeam(Field(body, "name"), call.actor));
    return ok();
  }
  if (m == "POST" && p == "/admin/teams/members") {
    RETURN_IF_ERROR(accounts.SetTeamMembership(Field(body, "member"), Field(body, "team"),
                                               BoolField(body, "in"), call.actor));
    return ok();
  }
  if (m == "POST" && p == "/admin/grants") return SetGrant(*this, call);
  if (m == "GET" && p == "/admin/keys") {
    ASSIGN_OR_RETURN(auto keys, deps.gateway.ListKeys());
    boost::json::array out;
    for (const auto& k : keys) {
      out.push_back(boost::json::object{{"id", k.id()},
                                        {"name", k.name()},
                                        {"member", k.member()},
                                        {"grants", GrantsJson(k.grants())},
                                        {"expires_ms", k.expires_ms()}});
    }
    return out;
  }
  if (m == "GET" && p == "/admin/audit") {
    ASSIGN_OR_RETURN(auto lines, accounts.AuditLog(500));
    return AuditJson(lines);
  }
  if (m == "GET" && p == "/admin/status") return Status(*this);
  return std::nullopt;
}

}  // namespace mosaic::gateway::console
