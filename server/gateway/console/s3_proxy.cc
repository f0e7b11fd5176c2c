// /console/api/v1/s3/BUCKET/KEY?…: S3 operations for the browser, run by the S3 handlers
// themselves as a Principal holding the member's current rights, so the same code decides
// what a member may do whether they come with an access key or a session.

#include "common/status.h"
#include "server/gateway/console/internal/api.h"

namespace mosaic::gateway::console {
namespace {

// The console's Exchange seen as an S3 request to "/BUCKET/KEY?…". Objects are served to the
// browser as downloads in a sandbox: a stored HTML or SVG file must never run as the console.
class ProxiedExchange final : public Exchange {
 public:
  ProxiedExchange(Exchange& inner, RequestView view) : inner_(inner), view_(std::move(view)) {}

  const RequestView& request() const override { return view_; }
  const std::string& request_id() const override { return inner_.request_id(); }
  std::string client_address() const override { return inner_.client_address(); }
  std::optional<uint64_t> content_length() const override { return inner_.content_length(); }
  absl::StatusOr<size_t> ReadBody(ByteSpan out) override { return inner_.ReadBody(out); }
  void SetHeader(const std::string& name, const std::string& value) override {
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "content-disposition" || lower == "content-security-policy") return;
    inner_.SetHeader(name, value);
  }
  absl::Status Send(int status, const std::string& body) override {
    inner_.status = status;
    return inner_.Send(status, body);
  }
  absl::Status SendHeaders(int status, uint64_t length) override {
    inner_.status = status;
    return inner_.SendHeaders(status, length);
  }
  absl::Status SendBody(ConstByteSpan bytes) override { return inner_.SendBody(bytes); }
  bool response_started() const override { return inner_.response_started(); }
  void Abort() override { inner_.Abort(); }

 private:
  Exchange& inner_;
  RequestView view_;
};

}  // namespace

void Console::Impl::ProxyS3(Exchange& ex, const Session& session, std::string_view rest) {
  const RequestView& original = ex.request();
  RequestView view;
  view.method = original.method;
  view.target = std::string(rest);
  if (!original.RawQuery().empty()) view.target += "?" + std::string(original.RawQuery());
  for (const auto& [name, value] : original.headers) {
    // The session replaces S3's signature; the body is read as an unsigned payload.
    if (name == "authorization" || name == "cookie" || name == "x-amz-content-sha256") continue;
    view.headers.emplace_back(name, value);
  }
  ex.SetHeader("Content-Security-Policy", "default-src 'none'; sandbox; frame-ancestors 'none'");
  ex.SetHeader("X-Content-Type-Options", "nosniff");
  ex.SetHeader("Cache-Control", "no-store");
  ex.SetHeader("Content-Disposition", "attachment");
  ProxiedExchange proxied(ex, std::move(view));
  absl::Status status = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(S3Request req, Route(proxied.request(), ""));
    ASSIGN_OR_RETURN(Principal who, PrincipalOf(session.member));
    return deps.serve_s3(proxied, req, who);
  }();
  if (status.ok()) return;
  if (ex.response_started()) return ex.Abort();
  deps.render_s3_error(proxied, status);
}

}  // namespace mosaic::gateway::console
