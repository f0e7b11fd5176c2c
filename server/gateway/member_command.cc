// `mosaic member add|list|remove|passwd` and `mosaic team create|delete|add|grant`: the
// console's people for scripts, through the running gateway's admin API (console/console.h,
// HandleAccountsAdmin). The first admin comes from `mosaic member add NAME --admin`.

#include <cstdio>
#include <memory>
#include <string>

#include "server/commands.h"
#include "server/gateway/admin_client.h"
#include "server/gateway/s3/sigv4.h"

namespace mosaic {
namespace {

std::string Enc(const std::string& s) { return gateway::UriEncode(s, false); }

std::string Call(const std::string& config, const std::string& method, const std::string& target) {
  gateway::AdminTarget t = gateway::AdminTargetOrExit(config);
  auto body = gateway::AdminRequest(t.address, t.token, method, target);
  if (!body.ok()) FailCommand(1, body.status());
  return *body;
}

// Prints a one-time password from {"name": …, "password": …}.
void PrintPassword(const std::string& json, const std::string& name) {
  size_t at = json.find("\"password\":\"");
  if (at == std::string::npos) FailCommand(1, absl::InternalError("no password in " + json));
  size_t start = at + 12;
  std::string password = json.substr(start, json.find('"', start) - start);
  std::printf("%s\n", password.c_str());
  std::fprintf(stderr, "one-time password for %s printed above; it is not stored anywhere\n",
               name.c_str());
}

void AddMemberCommands(CLI::App& app, std::shared_ptr<std::string> config) {
  CLI::App* member = app.add_subcommand("member", "Manage console members (the gateway must run)");
  member->require_subcommand(1);
  member->fallthrough();
  member->add_option("--config,-c", *config, "Gateway configuration file")->required();
  auto name = std::make_shared<std::string>();
  auto admin = std::make_shared<bool>(false);
  CLI::App* add = member->add_subcommand("add", "Add a member; prints a one-time password");
  add->add_option("name", *name, "Member name (a-z 0-9 . _ -)")->required();
  add->add_flag("--admin", *admin, "The member administers the console");
  add->callback([=] {
    PrintPassword(
        Call(*config, "POST", "/admin/v1/members?name=" + Enc(*name) + (*admin ? "&admin=1" : "")),
        *name);
  });
  member->add_subcommand("list", "List members, their teams and grants")->callback([=] {
    std::printf("%s", Call(*config, "GET", "/admin/v1/members").c_str());
  });
  CLI::App* remove = member->add_subcommand("remove", "Remove a member and revoke their keys");
  remove->add_option("name", *name, "Member name")->required();
  remove->callback([=] {
    Call(*config, "DELETE", "/admin/v1/members?name=" + Enc(*name));
    std::printf("member %s removed, and their access keys revoked\n", name->c_str());
  });
  CLI::App* passwd = member->add_subcommand("passwd", "Give a member a new one-time password");
  passwd->add_option("name", *name, "Member name")->required();
  passwd->callback([=] {
    PrintPassword(Call(*config, "POST", "/admin/v1/members/password?name=" + Enc(*name)), *name);
  });
}

void AddTeamCommands(CLI::App& app, std::shared_ptr<std::string> config) {
  CLI::App* team = app.add_subcommand("team", "Manage console teams (the gateway must run)");
  team->require_subcommand(1);
  team->fallthrough();
  team->add_option("--config,-c", *config, "Gateway configuration file")->required();
  auto name = std::make_shared<std::string>();
  auto member = std::make_shared<std::string>();
  auto bucket = std::make_shared<std::string>();
  auto right = std::make_shared<std::string>();
  CLI::App* create = team->add_subcommand("create", "Create a team");
  create->add_option("name", *name, "Team name")->required();
  create->callback([=] {
    Call(*config, "POST", "/admin/v1/teams?name=" + Enc(*name));
    std::printf("team %s created\n", name->c_str());
  });
  CLI::App* del = team->add_subcommand("delete", "Delete a team");
  del->add_option("name", *name, "Team name")->required();
  del->callback([=] {
    Call(*config, "DELETE", "/admin/v1/teams?name=" + Enc(*name));
    std::printf("team %s deleted\n", name->c_str());
  });
  CLI::App* add = team->add_subcommand("add", "Put a member in a team");
  add->add_option("name", *name, "Team name")->required();
  add->add_option("member", *member, "Member name")->required();
  add->callback([=] {
    Call(*config, "POST", "/admin/v1/teams/members?team=" + Enc(*name) + "&member=" + Enc(*member));
    std::printf("member %s added to team %s\n", member->c_str(), name->c_str());
  });
  CLI::App* grant = team->add_subcommand(
      "grant", "Give a team a right on a bucket, or on the keys of a bucket under a prefix");
  grant->add_option("name", *name, "Team name")->required();
  grant
      ->add_option("--bucket", *bucket,
                   "Bucket name, * for every bucket, or BUCKET/PREFIX for only the keys "
                   "starting with PREFIX (objects under it, listings within it)")
      ->required();
  grant->add_option("--allow", *right, "read, write, owner, or none to take it away")->required();
  grant->callback([=] {
    Call(*config, "POST",
         "/admin/v1/grants?team=" + Enc(*name) + "&bucket=" + Enc(*bucket) +
             "&right=" + Enc(*right));
    std::string what = bucket->find('/') == std::string::npos
                           ? "bucket " + *bucket
                           : "the keys of bucket " + bucket->substr(0, bucket->find('/')) +
                                 " starting with \"" + bucket->substr(bucket->find('/') + 1) + "\"";
    if (*right == "none") {
      std::printf("team %s has no right on %s any more\n", name->c_str(), what.c_str());
    } else {
      std::printf("team %s may now %s %s\n", name->c_str(),
                  *right == "owner" ? "own" : right->c_str(), what.c_str());
    }
  });
}

}  // namespace

void AddMemberAndTeamCommands(CLI::App& app) {
  AddMemberCommands(app, std::make_shared<std::string>());
  AddTeamCommands(app, std::make_shared<std::string>());
}

}  // namespace mosaic
