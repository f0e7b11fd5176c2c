#include "server/gateway/console/accounts.h"

#include <algorithm>

#include "common/status.h"
#include "server/gateway/grant_text.h"
#include "server/gateway/meta/tables/access_keys.h"
#include "server/gateway/meta/tables/audit.h"
#include "server/gateway/meta/tables/members.h"
#include "server/gateway/meta/tables/sessions.h"
#include "server/gateway/meta/tables/teams.h"
#include "server/gateway/s3/handler.h"

namespace mosaic::gateway::console {
namespace {

constexpr size_t kMinPasswordChars = 10;

absl::Status CheckName(const std::string& name) {
  if (!ValidName(name)) {
    return absl::InvalidArgumentError(
        "a name is 1-64 of a-z 0-9 . _ - starting with a letter or "
        "digit: \"" +
        name + "\"");
  }
  return absl::OkStatus();
}

// Sets or (RIGHT_UNSPECIFIED) removes the grant on grant.bucket() in `grants`.
void ApplyGrant(google::protobuf::RepeatedPtrField<v1::Grant>& grants, const v1::Grant& grant) {
  for (int i = 0; i < grants.size(); ++i) {
    if (grants[i].bucket() == grant.bucket() && grants[i].prefix() == grant.prefix()) {
      grants.DeleteSubrange(i, 1);
      break;
    }
  }
  if (grant.right() != v1::Grant::RIGHT_UNSPECIFIED) *grants.Add() = grant;
}

absl::Status DeleteSessionsOf(meta::Transaction& t, const std::string& member) {
  ASSIGN_OR_RETURN(auto all, meta::sessions::List(t));
  for (const auto& [hash, s] : all) {
    if (s.member() == member) RETURN_IF_ERROR(meta::sessions::Delete(t, hash));
  }
  return absl::OkStatus();
}

}  // namespace

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return alnum(c) || c == '.' || c == '_' || c == '-'; });
}

Accounts::Accounts(meta::Backend& db, Clock now, client::PasswordCost cost)
    : db_(db), now_(std::move(now)), cost_(cost) {
  auto dummy = client::HashPassword(client::RandomPassword(), cost_);
  if (dummy.ok()) dummy_hash_ = *dummy;
}

v1::AuditRecord Accounts::Line(const Actor& by, const std::string& action,
                               const std::string& target, bool ok) const {
  v1::AuditRecord r;
  r.set_time_ms(now_());
  r.set_actor(by.name);
  r.set_action(action);
  r.set_target(target);
  r.set_from(by.from);
  r.set_ok(ok);
  return r;
}

absl::Status Accounts::AuditIn(meta::Transaction& t, const Actor& by, const std::string& action,
                               const std::string& target) {
  return meta::audit::Append(t, Line(by, action, target, true));
}

absl::Status Accounts::Audit(const Actor& by, const std::string& action, const std::string& target,
                             bool ok) {
  v1::AuditRecord r = Line(by, action, target, ok);
  return db_.Run([&](meta::Transaction& t) { return meta::audit::Append(t, r); });
}

absl::StatusOr<std::vector<v1::AuditRecord>> Accounts::AuditLog(size_t limit) const {
  auto t = db_.Snapshot();
  return meta::audit::Newest(*t, limit);
}

absl::StatusOr<std::string> Accounts::AddMember(const std::string& name, bool admin,
                                                const Actor& by) {
  RETURN_IF_ERROR(CheckName(name));
  std::string password = client::RandomPassword();
  ASSIGN_OR_RETURN(std::string hash, client::HashPassword(password, cost_));
  RETURN_IF_ERROR(db_.Run([&](meta::Transaction& t) -> absl::Status {
    ASSIGN_OR_RETURN(auto existing,
                     meta::members::Get(t, name, meta::Transaction::Lock::kExclusive));
    if (existing) return absl::AlreadyExistsError("member " + name + " exists");
    v1::MemberRecord m;
    m.set_name(name);
    m.set_password_hash(hash);
    m.set_admin(admin);
    m.set_created_ms(now_());
    RETURN_IF_ERROR(meta::members::Put(t, m));
    return AuditIn(t, by, admin ? "member.add.admin" : "member.add", name);
  }));
  return password;
}

absl::Status Accounts::UpdateMember(const std::string& name, const Actor& by,
                                    const std::string& action, const std::string& target,
                                    const std::function<absl::Status(v1::MemberRecord&)>& change) {
  return db_.Run([&](meta::Transaction& t) -> absl::Status {
    ASSIGN_OR_RETURN(auto m, meta::members::Get(t, name, meta::Transaction::Lock::kExclusive));
    if (!m) return absl::NotFoundError("no member " + name);
    RETURN_IF_ERROR(change(*m));
    RETURN_IF_ERROR(meta::members::Put(t, *m));
    if (action.starts_with("member.password")) RETURN_IF_ERROR(DeleteSessionsOf(t, name));
    return AuditIn(t, by, action, target);
  });
}

absl::Status Accounts::SetPassword(const std::string& name, const std::string& password,
                                   const Actor& by) {
  if (password.size() < kMinPasswordChars) {
    return absl::InvalidArgumentError("a password has at least 10 characters");
  }
  ASSIGN_OR_RETURN(std::string hash, client::HashPassword(password, cost_));
  return UpdateMember(name, by, "member.password", name, [&](v1::MemberRecord& m) {
    m.set_password_hash(hash);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::string> Accounts::ResetPassword(const std::string& name, const Actor& by) {
  std::string password = client::RandomPassword();
  RETURN_IF_ERROR(SetPassword(name, password, by));
  return password;
}

absl::Status Accounts::RemoveMember(const std::string& name, const Actor& by) {
  return db_.Run([&](meta::Transaction& t) -> absl::Status {
    ASSIGN_OR_RETURN(auto m, meta::members::Get(t, name, meta::Transaction::Lock::kExclusive));
    if (!m) return absl::NotFoundError("no member " + name);
    RETURN_IF_ERROR(meta::members::Delete(t, name));
    RETURN_IF_ERROR(DeleteSessionsOf(t, name));
    ASSIGN_OR_RETURN(auto keys, meta::access_keys::List(t));
    for (const auto& k : keys) {
      if (k.member() == name) RETURN_IF_ERROR(meta::access_keys::Delete(t, k.id()));
    }
    return AuditIn(t, by, "member.remove", name);
  });
}

absl::StatusOr<std::optional<v1::MemberRecord>> Accounts::GetMember(const std::string& name) const {
  auto t = db_.Snapshot();
  return meta::members::Get(*t, name);
}

absl::StatusOr<std::vector<v1::MemberRecord>> Accounts::ListMembers() const {
  auto t = db_.Snapshot();
  return meta::members::List(*t);
}

absl::Status Accounts::CreateTeam(const std::string& name, const Actor& by) {
  RETURN_IF_ERROR(CheckName(name));
  return db_.Run([&](meta::Transaction& t) -> absl::Status {
    ASSIGN_OR_RETURN(auto existing, meta::teams::Get(t, name, meta::Transaction::Lock::kExclusive));
    if (existing) return absl::AlreadyExistsError("team " + name + " exists");
    v1::TeamRecord team;
    team.set_name(name);
    team.set_created_ms(now_());
    RETURN_IF_ERROR(meta::teams::Put(t, team));
    return AuditIn(t, by, "team.create", name);
  });
}

absl::Status Accounts::DeleteTeam(const std::string& name, const Actor& by) {
  return db_.Run([&](meta::Transaction& t) -> absl::Status {
    ASSIGN_OR_RETURN(auto team, meta::teams::Get(t, name, meta::Transaction::Lock::kExclusive));
    if (!team) return absl::NotFoundError("no team " + name);
    RETURN_IF_ERROR(meta::teams::Delete(t, name));
    ASSIGN_OR_RETURN(auto members, meta::members::List(t));
    for (v1::MemberRecord& m : members) {
      auto& teams = *m.mutable_teams();
      auto it = std::find(teams.begin(), teams.end(), name);
      if (it == teams.end()) continue;
      teams.erase(it);
      RETURN_IF_ERROR(meta::members::Put(t, m));
    }
    return AuditIn(t, by, "team.delete", name);
  });
}

absl::StatusOr<std::vector<v1::TeamRecord>> Accounts::ListTeams() const {
  auto t = db_.Snapshot();
  return meta::teams::List(*t);
}

absl::Status Accounts::SetTeamMembership(const std::string& member, const std::string& team,
                                         bool in, const Actor& by) {
  {
    auto t = db_.Snapshot();
    ASSIGN_OR_RETURN(auto record, meta::teams::Get(*t, team));
    if (!record) return absl::NotFoundError("no team " + team);
  }
  return UpdateMember(member, by, in ? "team.join" : "team.leave", member + " " + team,
                      [&](v1::MemberRecord& m) {
                        auto& teams = *m.mutable_teams();
                        auto it = std::find(teams.begin(), teams.end(), team);
                        if (in && it == teams.end()) *m.add_teams() = team;
                        if (!in && it != teams.end()) teams.erase(it);
                        return absl::OkStatus();
                      });
}

absl::Status Accounts::SetGrant(const Subject& to, const v1::Grant& grant, const Actor& by) {
  if (grant.bucket().empty()) return absl::InvalidArgumentError("a grant names a bucket or \"*\"");
  std::string target = (to.kind == Subject::Kind::kTeam ? "team " : "member ") + to.name + " " +
                       grant.bucket() + (grant.prefix().empty() ? "" : "/" + grant.prefix() + "*") +
                       " " + v1::Grant::Right_Name(grant.right());
  if (to.kind == Subject::Kind::kMember) {
    return UpdateMember(to.name, by, "grant.set", target, [&](v1::MemberRecord& m) {
      ApplyGrant(*m.mutable_grants(), grant);
      return absl::OkStatus();
    });
  }
  return db_.Run([&](meta::Transaction& t) -> absl::Status {
    ASSIGN_OR_RETURN(auto team, meta::teams::Get(t, to.name, meta::Transaction::Lock::kExclusive));
    if (!team) return absl::NotFoundError("no team " + to.name);
    ApplyGrant(*team->mutable_grants(), grant);
    RETURN_IF_ERROR(meta::teams::Put(t, *team));
    return AuditIn(t, by, "grant.set", target);
  });
}

absl::StatusOr<std::vector<v1::Grant>> Accounts::EffectiveGrants(const std::string& member) const {
  auto t = db_.Snapshot();
  ASSIGN_OR_RETURN(auto m, meta::members::Get(*t, member));
  if (!m) return absl::NotFoundError("no member " + member);
  std::vector<v1::Grant> out(m->grants().begin(), m->grants().end());
  for (const std::string& name : m->teams()) {
    ASSIGN_OR_RETURN(auto team, meta::teams::Get(*t, name));
    if (team) out.insert(out.end(), team->grants().begin(), team->grants().end());
  }
  return out;
}

absl::Status Accounts::CheckKeyGrants(const std::string& member,
                                      const std::vector<v1::Grant>& grants) const {
  if (grants.empty()) return absl::InvalidArgumentError("a key needs at least one grant");
  ASSIGN_OR_RETURN(auto held, EffectiveGrants(member));
  Principal holder{"", std::move(held)};
  for (const v1::Grant& g : grants) {
    if (!holder.Covers(g)) {
      return absl::PermissionDeniedError("member " + member + " does not hold " +
                                         RightName(g.right()) + " on " + GrantTarget(g) +
                                         ": a key cannot be wider than its member's rights");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::MemberRecord>> Accounts::CheckPassword(
    const std::string& name, const std::string& password) const {
  auto t = db_.Snapshot();
  ASSIGN_OR_RETURN(auto m, meta::members::Get(*t, name));
  if (!m) {
    (void)client::VerifyPassword(dummy_hash_, password);
    return std::nullopt;
  }
  if (!client::VerifyPassword(m->password_hash(), password)) return std::nullopt;
  return m;
}

}  // namespace mosaic::gateway::console
