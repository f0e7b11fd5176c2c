#pragma once
// Shared by the console's source files (private to console/): the console's state, one API
// call, and JSON helpers.

#include <boost/json.hpp>
#include <map>
#include <optional>
#include <string>

#include "common/status.h"
#include "server/gateway/console/console.h"
#include "server/gateway/grant_text.h"

namespace mosaic::gateway::console {

// One request to /console/api/v1/…, after the session and CSRF checks.
struct Call {
  Exchange& ex;
  std::string method;
  std::string path;                // after "/console/api/v1", still percent-encoded
  std::optional<Session> session;  // nullopt only for /login
  Actor actor;                     // the member (or the name tried) and the client address
  boost::json::object body;        // the JSON body of a POST, else empty
};

struct Console::Impl {
  Impl(ConsoleDeps d, SessionOptions options);

  ConsoleDeps deps;
  Accounts accounts;
  Sessions sessions;

  void Handle(Exchange& ex);
  // POST /login {"name", "password"}: sets the session cookie, answers the CSRF token.
  void Login(Call& call);
  // The API's JSON answer for `call`; NOT_FOUND for an unknown route.
  absl::StatusOr<boost::json::value> Api(Call& call);
  // The routes of member_api.cc and admin_api.cc; nullopt when `call` is not theirs.
  absl::StatusOr<std::optional<boost::json::value>> MemberRoutes(Call& call);
  absl::StatusOr<std::optional<boost::json::value>> AdminRoutes(Call& call);
  // The data-safety page's actions: node drain/undrain/remove and their impact, a node from
  // an invite, the deep scrub and its findings (safety_api.cc); nullopt when `call` is not
  // theirs.
  absl::StatusOr<std::optional<boost::json::value>> SafetyRoutes(Call& call);
  // Buckets with usage and quotas (buckets_api.cc); nullopt when `call` is not theirs.
  absl::StatusOr<std::optional<boost::json::value>> BucketRoutes(Call& call);
  // /console/api/v1/s3/BUCKET/KEY?…: the S3 operation as the member (s3_proxy.cc).
  void ProxyS3(Exchange& ex, const Session& session, std::string_view rest);
  // GET /object?bucket=B&key=K: an object's details and where its shards are
  // (object_details.cc); NOT_FOUND unless the member may read it and it exists.
  absl::StatusOr<boost::json::value> ObjectDetails(const std::map<std::string, std::string>& query,
                                                   const std::string& member);
  // The member's rights as an S3 principal.
  absl::StatusOr<Principal> PrincipalOf(const std::string& member);
};

// Field `name` of `body` as a string ("" when missing or not a string).
std::string Field(const boost::json::object& body, const char* name);
// The HTTP status for an error of ours.
int HttpStatusFor(const absl::Status& s);
// The decoded name=value pairs of a raw query string (malformed pairs are dropped).
std::map<std::string, std::string> QueryOf(std::string_view raw_query);
boost::json::array MembersJson(const std::vector<v1::MemberRecord>& members);
boost::json::array GrantsJson(const google::protobuf::RepeatedPtrField<v1::Grant>& grants);
// Adds the headers every console response carries (CSP, no caching, no framing, nosniff).
void SecurityHeaders(Exchange& ex);
void SendJson(Exchange& ex, int status, const boost::json::value& v);
// {"error": message} with HttpStatusFor's status (or Abort when the response has started).
void SendError(Exchange& ex, const absl::Status& s);

}  // namespace mosaic::gateway::console
