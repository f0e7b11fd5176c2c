#include "server/gateway/console/console.h"

#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "common/sha256.h"
#include "common/status.h"
#include "server/gateway/console/assets.h"
#include "server/gateway/console/internal/api.h"

namespace mosaic::gateway::console {
namespace {

constexpr std::string_view kApi = "/console/api/v1";
constexpr char kCookie[] = "mosaic_session";
constexpr size_t kMaxJsonBody = 64 << 10;

std::string CookieValue(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    size_t end = header.find(';');
    std::string_view part = header.substr(0, end);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.size() > name.size() && part.starts_with(name) && part[name.size()] == '=') {
      return std::string(part.substr(name.size() + 1));
    }
    if (end == std::string_view::npos) break;
    header.remove_prefix(end + 1);
  }
  return "";
}

bool IsSafeMethod(const std::string& m) { return m == "GET" || m == "HEAD"; }

absl::StatusOr<boost::json::object> ReadJson(Exchange& ex) {
  std::string body;
  char buf[4096];
  while (true) {
    ASSIGN_OR_RETURN(size_t n, ex.ReadBody({reinterpret_cast<std::byte*>(buf), sizeof buf}));
    if (n == 0) break;
    body.append(buf, n);
    if (body.size() > kMaxJsonBody) return absl::InvalidArgumentError("request body too large");
  }
  if (body.empty()) return boost::json::object{};
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return absl::InvalidArgumentError("expected a JSON object");
  return std::move(v.as_object());
}

void ServeAsset(Exchange& ex) {
  std::string path(ex.request().RawPath());
  if (path == "/" || path == "/console" || path == "/console/") path = "/index.html";
  const Asset* asset = FindAsset(path);
  if (!asset || !IsSafeMethod(ex.request().method)) {
    ex.status = 404;
    (void)ex.Send(404, "not found\n");
    return;
  }
  ex.SetHeader("Content-Type", std::string(asset->content_type));
  ex.status = 200;
  (void)ex.Send(200, ex.request().method == "HEAD" ? "" : std::string(asset->bytes));
}

}  // namespace

void SendJson(Exchange& ex, int status, const boost::json::value& v) {
  ex.SetHeader("Content-Type", "application/json");
  ex.status = status;
  (void)ex.Send(status, boost::json::serialize(v));
}

void SendError(Exchange& ex, const absl::Status& s) {
  if (ex.response_started()) return ex.Abort();
  SendJson(ex, HttpStatusFor(s), boost::json::object{{"error", std::string(s.message())}});
}

std::string Field(const boost::json::object& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || !it->value().is_string()) return "";
  return std::string(it->value().as_string());
}

int HttpStatusFor(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

void SecurityHeaders(Exchange& ex) {
  ex.SetHeader("Content-Security-Policy",
               "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'");
  ex.SetHeader("X-Frame-Options", "DENY");
  ex.SetHeader("X-Content-Type-Options", "nosniff");
  ex.SetHeader("Referrer-Policy", "no-referrer");
  ex.SetHeader("Cache-Control", "no-store");
}

Console::Impl::Impl(ConsoleDeps d, SessionOptions options)
    : deps(std::move(d)),
      accounts(
          deps.meta.backend(), [] { return UnixNowMs(); }, client::PasswordCost::kInteractive),
      sessions(deps.meta.backend(), accounts, options) {}

Console::Console(ConsoleDeps deps, SessionOptions sessions)
    : impl_(std::make_unique<Impl>(std::move(deps), sessions)) {}
Console::~Console() = default;
Accounts& Console::accounts() { return impl_->accounts; }
void Console::Handle(Exchange& ex) { impl_->Handle(ex); }

absl::StatusOr<Principal> Console::Impl::PrincipalOf(const std::string& member) {
  Principal p;
  p.key_id = "console:" + member;
  ASSIGN_OR_RETURN(p.grants, accounts.EffectiveGrants(member));
  return p;
}

absl::StatusOr<boost::json::value> Console::Impl::Api(Call& call) {
  ASSIGN_OR_RETURN(auto mine, MemberRoutes(call));
  if (mine) return *std::move(mine);
  ASSIGN_OR_RETURN(auto buckets, BucketRoutes(call));
  if (buckets) return *std::move(buckets);
  ASSIGN_OR_RETURN(auto safety, SafetyRoutes(call));
  if (safety) return *std::move(safety);
  ASSIGN_OR_RETURN(auto admin, AdminRoutes(call));
  if (admin) return *std::move(admin);
  return absl::NotFoundError("no such console API: " + call.method + " " + call.path);
}

namespace {

// The session cookie: HttpOnly, SameSite=Strict, Secure under TLS; "" as token clears it.
std::string SessionCookie(const std::string& token, bool tls, int64_t max_age_s) {
  return std::string(kCookie) + "=" + token + "; Path=/; HttpOnly; SameSite=Strict" +
         (tls ? "; Secure" : "") + "; Max-Age=" + std::to_string(token.empty() ? 0 : max_age_s);
}

// A state change must come from the console's own pages: the Origin browsers send with every
// POST/PUT/DELETE must be this listener's, and Sec-Fetch-Site must not say cross-site.
absl::Status CheckOrigin(const RequestView& r, bool tls) {
  std::string expected = std::string(tls ? "https://" : "http://") + std::string(r.Header("host"));
  if (r.Header("origin") != expected || r.Header("sec-fetch-site") == "cross-site") {
    return absl::PermissionDeniedError("cross-origin request refused");
  }
  return absl::OkStatus();
}

}  // namespace

void Console::Impl::Handle(Exchange& ex) {
  try {
    std::string_view path = ex.request().RawPath();
    ex.operation = "Console";
    if (!path.starts_with(kApi)) {
      SecurityHeaders(ex);
      return ServeAsset(ex);
    }
    Call call{ex,
              ex.request().method,
              std::string(path.substr(kApi.size())),
              std::nullopt,
              Actor{"", ex.client_address()},
              {}};
    if (!IsSafeMethod(call.method)) {
      if (auto s = CheckOrigin(ex.request(), deps.tls); !s.ok()) {
        SecurityHeaders(ex);
        return SendError(ex, s);
      }
    }
    std::string token = CookieValue(ex.request().Header("cookie"), kCookie);
    if (call.method == "POST" && call.path == "/login") return Login(call);
    auto session = sessions.Resolve(token);
    if (!session.ok()) {
      SecurityHeaders(ex);
      return SendError(ex, session.status());
    }
    call.session = *session;
    call.actor.name = session->member;
    if (!IsSafeMethod(call.method) &&
        !ConstantTimeEquals(ex.request().Header("x-csrf-token"), session->csrf)) {
      SecurityHeaders(ex);
      return SendError(ex, absl::PermissionDeniedError("missing or wrong CSRF token"));
    }
    if (call.path.starts_with("/s3/")) return ProxyS3(ex, *session, call.path.substr(3));
    SecurityHeaders(ex);
    if (call.method == "POST" && call.path == "/logout") {
      (void)sessions.Logout(token);
      ex.SetHeader("Set-Cookie", SessionCookie("", deps.tls, 0));
      return SendJson(ex, 200, boost::json::object{{"ok", true}});
    }
    if (call.method == "POST") {
      auto body = ReadJson(ex);
      if (!body.ok()) return SendError(ex, body.status());
      call.body = *std::move(body);
    }
    auto answer = Api(call);
    if (!answer.ok()) return SendError(ex, answer.status());
    SendJson(ex, 200, *answer);
  } catch (const std::exception& e) {
    SendError(ex, absl::InternalError(std::string("exception: ") + e.what()));
  }
}

void Console::Impl::Login(Call& call) {
  Exchange& ex = call.ex;
  SecurityHeaders(ex);
  auto body = ReadJson(ex);
  if (!body.ok()) return SendError(ex, body.status());
  std::string name = Field(*body, "name");
  auto session = sessions.Login(name, Field(*body, "password"), call.actor.from);
  if (!session.ok()) {
    if (session.status().code() == absl::StatusCode::kResourceExhausted) {
      int64_t wait_ms = sessions.RetryAfterMs(name, call.actor.from);
      ex.SetHeader("Retry-After", std::to_string(std::max<int64_t>(1, (wait_ms + 999) / 1000)));
    }
    return SendError(ex, session.status());
  }
  ex.SetHeader("Set-Cookie",
               SessionCookie(session->token, deps.tls, sessions.absolute_ms() / 1000));
  SendJson(ex, 200,
           boost::json::object{
               {"name", session->member}, {"admin", session->admin}, {"csrf", session->csrf}});
}

}  // namespace mosaic::gateway::console
