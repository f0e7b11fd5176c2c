#pragma once
// The web console (issue 15, docs/console.md): static pages embedded in the binary and a JSON
// API under /console/api/v1/, served on the gateway's `console_listen`. Members log in
// (sessions.h); what they do to objects goes through the S3 handlers themselves, as a
// Principal holding the member's rights (accounts.h), so S3's authorization decides.
// Every state change needs the session's CSRF token (X-CSRF-Token) and a same-origin Origin.
// Thread-safe: Handle runs on the HTTP server's connection threads.

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/gateway/console/accounts.h"
#include "server/gateway/console/sessions.h"
#include "server/gateway/gateway.h"
#include "server/gateway/http/exchange.h"
#include "server/gateway/s3/handler.h"
#include "server/gateway/s3/router.h"

namespace mosaic::gateway::console {

// What the console needs of the gateway (gateway.cc provides it).
struct ConsoleDeps {
  MetaStore& meta;
  Gateway& gateway;
  client::NodePool& pool;
  const GatewayConfig& config;
  // Serves the S3 operation `req` on `ex` as `who`, the body read as unsigned payload; errors
  // as the S3 dispatcher returns them (not rendered).
  std::function<absl::Status(Exchange& ex, const S3Request& req, const Principal& who)> serve_s3;
  // Renders an S3 error status as S3's XML error document.
  std::function<void(Exchange& ex, const absl::Status& status)> render_s3_error;
  // The S3 address share links point at: public_s3_url, or this gateway's S3 listener.
  std::function<std::string()> public_s3_url;
  // True when the console listener is HTTPS (cookies get Secure).
  bool tls = false;
};

class Console {
 public:
  explicit Console(ConsoleDeps deps, SessionOptions sessions = {});
  ~Console();

  Accounts& accounts();
  // Serves one request of the console listener.
  void Handle(Exchange& ex);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// The admin listener's routes for `mosaic member` and `mosaic team` (cli_api.cc), after the
// admin token was checked: true when `ex` was one of them (and answered).
//   GET    /admin/v1/members                        -> [{"name","admin","teams","grants"}]
//   POST   /admin/v1/members?name=N[&admin=1]        -> {"name","password"} (one-time)
//   DELETE /admin/v1/members?name=N                  -> {"removed"}; also revokes N's keys
//   POST   /admin/v1/members/password?name=N         -> {"name","password"} (new, one-time)
//   POST   /admin/v1/teams?name=T | DELETE /admin/v1/teams?name=T
//   POST   /admin/v1/teams/members?team=T&member=M[&in=0]
//   POST   /admin/v1/grants?member=M|team=T&bucket=B[/PREFIX]&right=read|write|owner|none
// Errors: 400 bad name, 404 unknown member or team, 409 name in use; the message as text.
bool HandleAccountsAdmin(Console& console, Exchange& ex);

}  // namespace mosaic::gateway::console
