// The admin listener's member and team routes, for `mosaic member` and `mosaic team`
// (member_command.cc): the same Accounts calls as the console's admin pages, audited as "cli".

#include <boost/json.hpp>
#include <map>

#include "server/gateway/console/internal/api.h"
#include "server/gateway/s3/sigv4.h"

namespace mosaic::gateway::console {
namespace {

absl::StatusOr<boost::json::value> Route(Accounts& a, const std::string& method,
                                         const std::string& path,
                                         std::map<std::string, std::string> q, const Actor& cli) {
  if (method == "GET" && path == "/admin/v1/members") {
    ASSIGN_OR_RETURN(auto members, a.ListMembers());
    return MembersJson(members);
  }
  if (method == "POST" && path == "/admin/v1/members") {
    ASSIGN_OR_RETURN(auto password, a.AddMember(q["name"], q["admin"] == "1", cli));
    return boost::json::object{{"name", q["name"]}, {"password", password}};
  }
  if (method == "DELETE" && path == "/admin/v1/members") {
    RETURN_IF_ERROR(a.RemoveMember(q["name"], cli));
    return boost::json::object{{"removed", q["name"]}};
  }
  if (method == "POST" && path == "/admin/v1/members/password") {
    ASSIGN_OR_RETURN(auto password, a.ResetPassword(q["name"], cli));
    return boost::json::object{{"name", q["name"]}, {"password", password}};
  }
  if (method == "POST" && path == "/admin/v1/teams") {
    RETURN_IF_ERROR(a.CreateTeam(q["name"], cli));
    return boost::json::object{{"team", q["name"]}};
  }
  if (method == "DELETE" && path == "/admin/v1/teams") {
    RETURN_IF_ERROR(a.DeleteTeam(q["name"], cli));
    return boost::json::object{{"removed", q["name"]}};
  }
  if (method == "POST" && path == "/admin/v1/teams/members") {
    RETURN_IF_ERROR(a.SetTeamMembership(q["member"], q["team"], q["in"] != "0", cli));
    return boost::json::object{{"team", q["team"]}, {"member", q["member"]}};
  }
  if (method == "POST" && path == "/admin/v1/grants") {
    bool team = q.contains("team");
    Subject to{team ? Subject::Kind::kTeam : Subject::Kind::kMember,
               team ? q["team"] : q["member"]};
    // bucket=B or bucket=B/PREFIX: grant_text.h's spelling, as `mosaic key create` takes it.
    ASSIGN_OR_RETURN(v1::Grant g, ParseGrantTarget(q["bucket"]));
    ASSIGN_OR_RETURN(auto right, ParseRight(q["right"]));
    g.set_right(right);
    RETURN_IF_ERROR(a.SetGrant(to, g, cli));
    return boost::json::object{{"ok", true}};
  }
  return absl::NotFoundError("no such admin route");
}

}  // namespace

bool HandleAccountsAdmin(Console& console, Exchange& ex) {
  std::string path(ex.request().RawPath());
  if (!path.starts_with("/admin/v1/members") && !path.starts_with("/admin/v1/teams") &&
      path != "/admin/v1/grants") {
    return false;
  }
  Actor cli{"cli", ex.client_address()};
  auto answer =
      Route(console.accounts(), ex.request().method, path, QueryOf(ex.request().RawQuery()), cli);
  if (!answer.ok()) {
    ex.SetHeader("Content-Type", "text/plain");
    (void)ex.Send(HttpStatusFor(answer.status()), std::string(answer.status().message()) + "\n");
  } else {
    ex.SetHeader("Content-Type", "application/json");
    (void)ex.Send(200, boost::json::serialize(*answer) + "\n");
  }
  return true;
}

}  // namespace mosaic::gateway::console
