#pragma once
// Console sessions (issue 15): a login gives a random 256-bit token (the cookie) and a
// random CSRF token; the metadata keeps only the token's SHA-256, the member, the CSRF token
// and the times. A session ends after idle_ms without a request, after absolute_ms in any
// case, at logout, and when its member is removed or their password changes.
// Thread-safe; calls block on the metadata (and on Argon2id for Login).

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "server/gateway/console/accounts.h"
#include "server/gateway/console/throttle.h"

namespace mosaic::gateway::console {

struct SessionOptions {
  int64_t idle_ms = 30 * 60 * 1000;
  int64_t absolute_ms = 12 * 60 * 60 * 1000;
};

struct Session {
  std::string token;  // only in Login's result; Resolve leaves it empty
  std::string csrf;
  std::string member;
  bool admin = false;
};

class Sessions {
 public:
  Sessions(meta::Backend& db, Accounts& accounts, SessionOptions options);

  // Checks the password and starts a session. UNAUTHENTICATED for a wrong name or password;
  // RESOURCE_EXHAUSTED (message "retry after N s") while throttled, without checking the
  // password. Both audited.
  [[nodiscard]] absl::StatusOr<Session> Login(const std::string& name, const std::string& password,
                                              const std::string& from);
  // The session of `token`; UNAUTHENTICATED when there is none, it has expired (then it is
  // deleted) or its member is gone.
  [[nodiscard]] absl::StatusOr<Session> Resolve(const std::string& token);
  // Ends the session (OK when there was none).
  [[nodiscard]] absl::Status Logout(const std::string& token);

  // How long a throttled login must wait, for the Retry-After header.
  int64_t RetryAfterMs(const std::string& name, const std::string& from) const;
  int64_t absolute_ms() const { return options_.absolute_ms; }

 private:
  meta::Backend& db_;
  Accounts& accounts_;
  SessionOptions options_;
  LoginThrottle throttle_;
};

// The SHA-256 (hex) under which a token's session is stored.
std::string TokenHash(const std::string& token);

}  // namespace mosaic::gateway::console
