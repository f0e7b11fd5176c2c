#include "server/gateway/console/sessions.h"

#include "common/sha256.h"
#include "common/status.h"
#include "server/gateway/meta/tables/members.h"
#include "server/gateway/meta/tables/sessions.h"

namespace mosaic::gateway::console {
namespace {
// Writing last_seen on every request would make every page view a synced commit: it is
// written when it has moved by this much (so idle expiry is this much late at most).
constexpr int64_t kTouchEveryMs = 60 * 1000;
}  // namespace

std::string TokenHash(const std::string& token) { return Sha256Hex(AsBytes(token)); }

Sessions::Sessions(meta::Backend& db, Accounts& accounts, SessionOptions options)
    : db_(db), accounts_(accounts), options_(options) {}

int64_t Sessions::RetryAfterMs(const std::string& name, const std::string& from) const {
  return throttle_.RetryAfterMs(name, from, accounts_.now_ms());
}

absl::StatusOr<Session> Sessions::Login(const std::string& name, const std::string& password,
                                        const std::string& from) {
  Actor who{name, from};
  int64_t wait = throttle_.RetryAfterMs(name, from, accounts_.now_ms());
  if (wait > 0) {
    RETURN_IF_ERROR(accounts_.Audit(who, "login.throttled", name, false));
    return absl::ResourceExhaustedError("too many failed logins: retry after " +
                                        std::to_string((wait + 999) / 1000) + " s");
  }
  ASSIGN_OR_RETURN(auto member, accounts_.CheckPassword(name, password));
  if (!member) {
    throttle_.Failed(name, from, accounts_.now_ms());
    RETURN_IF_ERROR(accounts_.Audit(who, "login.failed", name, false));
    return absl::UnauthenticatedError("wrong name or password");
  }
  throttle_.Succeeded(name);
  Session s{client::RandomToken(), client::RandomToken(), name, member->admin()};
  v1::SessionRecord r;
  r.set_member(name);
  r.set_csrf_token(s.csrf);
  r.set_created_ms(accounts_.now_ms());
  r.set_last_seen_ms(r.created_ms());
  r.set_from(from);
  RETURN_IF_ERROR(
      db_.Run([&](meta::Transaction& t) { return meta::sessions::Put(t, TokenHash(s.token), r); }));
  RETURN_IF_ERROR(accounts_.Audit(who, "login", name, true));
  return s;
}

absl::StatusOr<Session> Sessions::Resolve(const std::string& token) {
  if (token.empty()) return absl::UnauthenticatedError("not logged in");
  std::string hash = TokenHash(token);
  int64_t now = accounts_.now_ms();
  Session s;
  bool expired = false;
  RETURN_IF_ERROR(db_.Run([&](meta::Transaction& t) -> absl::Status {
    expired = false;
    ASSIGN_OR_RETURN(auto r, meta::sessions::Get(t, hash));
    if (!r) return absl::UnauthenticatedError("not logged in");
    ASSIGN_OR_RETURN(auto m, meta::members::Get(t, r->member()));
    if (!m || now - r->last_seen_ms() > options_.idle_ms ||
        now - r->created_ms() > options_.absolute_ms) {
      expired = true;
      return meta::sessions::Delete(t, hash);
    }
    s = Session{"", r->csrf_token(), r->member(), m->admin()};
    if (now - r->last_seen_ms() < kTouchEveryMs) return absl::OkStatus();
    r->set_last_seen_ms(now);
    return meta::sessions::Put(t, hash, *r);
  }));
  if (expired) return absl::UnauthenticatedError("session expired");
  return s;
}

absl::Status Sessions::Logout(const std::string& token) {
  return db_.Run([&](meta::Transaction& t) { return meta::sessions::Delete(t, TokenHash(token)); });
}

}  // namespace mosaic::gateway::console
