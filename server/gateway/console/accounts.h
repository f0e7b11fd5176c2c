#pragma once
// The console's people and rights (issue 15): members (who log in with a password), teams,
// and grants on buckets held by either. A member's rights are the union of their own grants
// and their teams'; they are checked by the S3 code itself (Principal::Allows), the console
// only computes them. Every change writes an audit line in the same transaction.
//
// Names (members and teams): 1–64 of a-z 0-9 . _ -, starting with a letter or digit.
// Errors: INVALID_ARGUMENT for a bad name or grant, NOT_FOUND for a missing member or team,
// ALREADY_EXISTS for a name in use; the metadata's errors otherwise (meta/txn.h).
// Thread-safe; every call blocks on the metadata (and on Argon2id where a password is hashed).

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/crypto/password.h"
#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/meta/txn.h"

namespace mosaic::gateway::console {

// Who does something, for the audit log: a member's name (or "cli") and their address.
struct Actor {
  std::string name;
  std::string from;
};

// A grant's holder: a member or a team.
struct Subject {
  enum class Kind { kMember, kTeam } kind;
  std::string name;
};

bool ValidName(const std::string& name);

class Accounts {
 public:
  using Clock = std::function<int64_t()>;  // Unix milliseconds
  Accounts(meta::Backend& db, Clock now, client::PasswordCost cost);

  // Adds a member with a random one-time password, which is returned (shown once).
  [[nodiscard]] absl::StatusOr<std::string> AddMember(const std::string& name, bool admin,
                                                      const Actor& by);
  // Gives the member a new random password, returned; their sessions end.
  [[nodiscard]] absl::StatusOr<std::string> ResetPassword(const std::string& name, const Actor& by);
  // Sets the member's password (at least 10 characters, else INVALID_ARGUMENT).
  [[nodiscard]] absl::Status SetPassword(const std::string& name, const std::string& password,
                                         const Actor& by);
  // Removes the member, their sessions and every S3 key they created.
  [[nodiscard]] absl::Status RemoveMember(const std::string& name, const Actor& by);
  [[nodiscard]] absl::StatusOr<std::optional<v1::MemberRecord>> GetMember(
      const std::string& name) const;
  [[nodiscard]] absl::StatusOr<std::vector<v1::MemberRecord>> ListMembers() const;

  [[nodiscard]] absl::Status CreateTeam(const std::string& name, const Actor& by);
  // Deletes the team and takes its members out of it.
  [[nodiscard]] absl::Status DeleteTeam(const std::string& name, const Actor& by);
  [[nodiscard]] absl::StatusOr<std::vector<v1::TeamRecord>> ListTeams() const;
  // Puts the member in the team (`in`) or takes them out.
  [[nodiscard]] absl::Status SetTeamMembership(const std::string& member, const std::string& team,
                                               bool in, const Actor& by);

  // Adds `grant` to the subject's (replacing a grant on the same bucket), or removes the
  // subject's grant on grant.bucket() when its right is RIGHT_UNSPECIFIED.
  [[nodiscard]] absl::Status SetGrant(const Subject& to, const v1::Grant& grant, const Actor& by);
  // The member's own grants and their teams' (NOT_FOUND for no such member).
  [[nodiscard]] absl::StatusOr<std::vector<v1::Grant>> EffectiveGrants(
      const std::string& member) const;
  // OK when the member holds every one of `grants` now (Principal::Covers: the bucket, at least
  // the right, and a prefix the grant's starts with), so a key made with them is no wider than
  // the member; PERMISSION_DENIED naming the first grant they do not hold; NOT_FOUND for no
  // such member; INVALID_ARGUMENT for no grants.
  [[nodiscard]] absl::Status CheckKeyGrants(const std::string& member,
                                            const std::vector<v1::Grant>& grants) const;

  // The member when `password` is theirs; nullopt otherwise (also for an unknown name,
  // after the same work as for a known one, so timing does not tell names apart).
  [[nodiscard]] absl::StatusOr<std::optional<v1::MemberRecord>> CheckPassword(
      const std::string& name, const std::string& password) const;

  // Appends an audit line on its own (logins; node actions).
  [[nodiscard]] absl::Status Audit(const Actor& by, const std::string& action,
                                   const std::string& target, bool ok);
  [[nodiscard]] absl::StatusOr<std::vector<v1::AuditRecord>> AuditLog(size_t limit) const;

  int64_t now_ms() const { return now_(); }

 private:
  v1::AuditRecord Line(const Actor& by, const std::string& action, const std::string& target,
                       bool ok) const;
  absl::Status AuditIn(meta::Transaction& t, const Actor& by, const std::string& action,
                       const std::string& target);
  // Runs `change` on the member's record (locked) and writes it back with an audit line.
  absl::Status UpdateMember(const std::string& name, const Actor& by, const std::string& action,
                            const std::string& target,
                            const std::function<absl::Status(v1::MemberRecord&)>& change);

  meta::Backend& db_;
  Clock now_;
  client::PasswordCost cost_;
  std::string dummy_hash_;  // verified against for unknown names
};

}  // namespace mosaic::gateway::console
