// The member's own API: who am I, password, S3 keys, share links, object details.

#include <map>

#include "common/clock.h"
#include "common/status.h"
#include "server/gateway/console/internal/api.h"
#include "server/gateway/console/presign.h"
#include "server/gateway/meta/meta_store.h"
#include "server/gateway/s3/sigv4.h"

namespace mosaic::gateway::console {
namespace {

boost::json::object KeyJson(const v1::AccessKeyRecord& k) {
  return {{"id", k.id()},
          {"name", k.name()},
          {"member", k.member()},
          {"grants", GrantsJson(k.grants())},
          {"created_ms", k.created_ms()},
          {"expires_ms", k.expires_ms()}};
}

}  // namespace

std::map<std::string, std::string> QueryOf(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    size_t eq = pair.find('=');
    auto name = PercentDecode(pair.substr(0, eq));
    auto value = PercentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (name && value) out[*name] = *value;
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

boost::json::array GrantsJson(const google::protobuf::RepeatedPtrField<v1::Grant>& grants) {
  boost::json::array out;
  for (const auto& g : grants) {
    out.push_back(boost::json::object{
        {"bucket", g.bucket()}, {"prefix", g.prefix()}, {"right", RightName(g.right())}});
  }
  return out;
}

namespace {

// POST /keys {"name", "bucket", "prefix", "right", "expires_days"}: a key with at most the
// member's rights (on the bucket, or only keys starting with "prefix" when it is not empty);
// the secret is in this answer only.
absl::StatusOr<boost::json::value> CreateMemberKey(Console::Impl& c, Call& call) {
  v1::Grant grant;
  grant.set_bucket(Field(call.body, "bucket"));
  grant.set_prefix(Field(call.body, "prefix"));
  ASSIGN_OR_RETURN(auto right, ParseRight(Field(call.body, "right")));
  grant.set_right(right);
  if (grant.bucket().empty() || right == v1::Grant::RIGHT_UNSPECIFIED) {
    return absl::InvalidArgumentError("a key needs a bucket and a right");
  }
  RETURN_IF_ERROR(c.accounts.CheckKeyGrants(call.actor.name, {grant}));
  int64_t days = 0;
  if (auto it = call.body.find("expires_days"); it != call.body.end() && it->value().is_int64()) {
    days = it->value().as_int64();
  }
  if (days < 0 || days > 3650) return absl::InvalidArgumentError("expires_days: 0..3650");
  std::string name = Field(call.body, "name");
  if (name.empty() || name.size() > 128) return absl::InvalidArgumentError("a key needs a name");
  KeyOwner owner{call.actor.name, days ? UnixNowMs() + days * 86'400'000 : 0};
  ASSIGN_OR_RETURN(NewKey key, c.deps.gateway.CreateKey(name, {grant}, owner));
  RETURN_IF_ERROR(c.accounts.Audit(call.actor, "key.create",
                                   key.id + " " + name + " " + GrantText(grant), true));
  return boost::json::object{{"id", key.id}, {"secret", key.secret}};
}

absl::StatusOr<boost::json::value> ListMemberKeys(Console::Impl& c, const std::string& member) {
  ASSIGN_OR_RETURN(auto keys, c.deps.gateway.ListKeys());
  boost::json::array out;
  for (const auto& k : keys) {
    if (k.member() == member && !k.name().starts_with("share:")) out.push_back(KeyJson(k));
  }
  return out;
}

// POST /keys/delete {"id"}: a member revokes their own key (an admin any key).
absl::StatusOr<boost::json::value> DeleteMemberKey(Console::Impl& c, Call& call) {
  std::string id = Field(call.body, "id");
  ASSIGN_OR_RETURN(auto record, c.deps.meta.GetKey(id));
  if (!record || (record->member() != call.actor.name && !call.session->admin)) {
    return absl::NotFoundError("no such key of yours: " + id);
  }
  ASSIGN_OR_RETURN(bool deleted, c.deps.gateway.DeleteKey(id));
  RETURN_IF_ERROR(c.accounts.Audit(call.actor, "key.revoke", id, deleted));
  return boost::json::object{{"deleted", deleted}};
}

// POST /share {"bucket", "key", "expires_s"}: a presigned GET signed by a key made for this
// link alone, which expires with it (and goes when the member does).
absl::StatusOr<boost::json::value> Share(Console::Impl& c, Call& call) {
  std::string bucket = Field(call.body, "bucket"), key = Field(call.body, "key");
  int64_t expires_s = 0;
  if (auto it = call.body.find("expires_s"); it != call.body.end() && it->value().is_int64()) {
    expires_s = it->value().as_int64();
  }
  if (expires_s < 1 || expires_s > kMaxShareSeconds) {
    return absl::InvalidArgumentError("a share link expires within 1 s to 7 days");
  }
  ASSIGN_OR_RETURN(Principal me, c.PrincipalOf(call.actor.name));
  if (!me.AllowsKey(bucket, key, v1::Grant::READ)) {
    return absl::PermissionDeniedError("no read right");
  }
  ASSIGN_OR_RETURN(auto object, c.deps.meta.GetObject(bucket, key, MetaStore::Hydration::kNone));
  if (!object) return absl::NotFoundError("no such object");
  v1::Grant grant;
  grant.set_bucket(bucket);
  grant.set_right(v1::Grant::READ);
  grant.set_prefix(key);  // this object alone (and keys that extend its name)
  int64_t now_ms = UnixNowMs();
  KeyOwner owner{call.actor.name, now_ms + expires_s * 1000};
  ASSIGN_OR_RETURN(NewKey link_key,
                   c.deps.gateway.CreateKey("share:" + bucket + "/" + key, {grant}, owner));
  ASSIGN_OR_RETURN(
      std::string url,
      PresignGet({c.deps.public_s3_url(), bucket, key, link_key.id, link_key.secret,
                  c.deps.config.region, expires_s,
                  std::chrono::system_clock::time_point(std::chrono::milliseconds(now_ms))}));
  RETURN_IF_ERROR(c.accounts.Audit(call.actor, "share", bucket + "/" + key, true));
  return boost::json::object{{"url", url}, {"expires_ms", owner.expires_ms}};
}

}  // namespace

absl::StatusOr<std::optional<boost::json::value>> Console::Impl::MemberRoutes(Call& call) {
  const std::string& m = call.method;
  const std::string& p = call.path;
  const std::string& me = call.actor.name;
  if (m == "GET" && p == "/me") {
    ASSIGN_OR_RETURN(Principal who, PrincipalOf(me));
    google::protobuf::RepeatedPtrField<v1::Grant> grants(who.grants.begin(), who.grants.end());
    return boost::json::object{{"name", me},
                               {"admin", call.session->admin},
                               {"csrf", call.session->csrf},
                               {"grants", GrantsJson(grants)},
                               {"s3_url", deps.public_s3_url()}};
  }
  if (m == "POST" && p == "/password") {
    ASSIGN_OR_RETURN(auto ok, accounts.CheckPassword(me, Field(call.body, "old")));
    if (!ok) return absl::PermissionDeniedError("the current password is wrong");
    RETURN_IF_ERROR(accounts.SetPassword(me, Field(call.body, "new"), call.actor));
    return boost::json::object{{"ok", true}};
  }
  if (m == "GET" && p == "/keys") return ListMemberKeys(*this, me);
  if (m == "POST" && p == "/keys") return CreateMemberKey(*this, call);
  if (m == "POST" && p == "/keys/delete") return DeleteMemberKey(*this, call);
  if (m == "POST" && p == "/share") return Share(*this, call);
  if (m == "GET" && p == "/object") return ObjectDetails(QueryOf(call.ex.request().RawQuery()), me);
  return std::nullopt;
}

}  // namespace mosaic::gateway::console
