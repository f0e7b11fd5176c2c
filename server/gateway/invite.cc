#include "server/gateway/invite.h"

#include <boost/json.hpp>
#include <cctype>
#include <utility>

#include "common/status.h"
#include "common/tls_cert.h"
#include "server/gateway/s3/checksum.h"

namespace mosaic::gateway {
namespace {

constexpr std::string_view kInvitePrefix = "mosaic-invite-1:";

}  // namespace

absl::StatusOr<Invite> ParseInvite(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  if (!text.starts_with(kInvitePrefix)) {
    return absl::InvalidArgumentError("an invite starts with \"mosaic-invite-1:\"");
  }
  std::string b64(text.substr(kInvitePrefix.size()));
  for (char& c : b64) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (b64.size() % 4 != 0) b64 += '=';
  auto json = Base64Decode(b64);
  if (!json.ok()) return absl::InvalidArgumentError("the invite is not valid base64url");
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(*json, ec);
  if (ec || !doc.is_object()) return absl::InvalidArgumentError("the invite is not JSON");
  Invite out;
  const std::pair<const char*, std::string*> fields[] = {{"node_id", &out.node_id},
                                                         {"provider", &out.provider},
                                                         {"address", &out.address},
                                                         {"fingerprint", &out.fingerprint},
                                                         {"token", &out.token}};
  for (const auto& [name, value] : fields) {
    const boost::json::value* v = doc.as_object().if_contains(name);
    if (v == nullptr || !v->is_string() || v->as_string().empty()) {
      return absl::InvalidArgumentError(std::string("the invite has no \"") + name + "\"");
    }
    *value = std::string(v->as_string());
  }
  if (!tls::IsFingerprint(out.fingerprint)) {
    return absl::InvalidArgumentError("the invite's fingerprint is not sha256:<hex>");
  }
  return out;
}

absl::StatusOr<client::NodeEndpoint> PinnedEndpoint(const Invite& invite,
                                                    std::chrono::milliseconds timeout) {
  auto pem = tls::FetchCertificate(invite.address, timeout);
  if (!pem.ok()) {
    return absl::UnavailableError("cannot fetch the certificate of node " + invite.node_id +
                                  " at " + invite.address + ": " +
                                  std::string(pem.status().message()));
  }
  ASSIGN_OR_RETURN(std::string presented, tls::Fingerprint(*pem));
  if (presented != invite.fingerprint) {
    return absl::FailedPreconditionError("node " + invite.node_id + " at " + invite.address +
                                         " presented certificate " + presented +
                                         " but the invite pins " + invite.fingerprint +
                                         "; not added (ask the provider, not the network)");
  }
  client::NodeEndpoint e;
  e.spec.id = invite.node_id;
  e.spec.provider = invite.provider;
  e.address = invite.address;
  e.token = invite.token;
  e.tls_ca_pem = *std::move(pem);
  e.tls_fingerprint = invite.fingerprint;
  return e;
}

}  // namespace mosaic::gateway
