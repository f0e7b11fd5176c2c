// Buckets with their usage and quotas (issue 15): GET /buckets (the member's), GET
// /admin/buckets (every bucket) and POST /admin/quota. Usage comes from the counters every
// write keeps (meta/tables/usage.h); quotas are enforced by the metadata store at commit.

#include "common/status.h"
#include "server/gateway/console/internal/api.h"
#include "server/gateway/meta/meta_store.h"

namespace mosaic::gateway::console {
namespace {

// Where a member's browsing of `bucket` starts: "" with a read grant on the whole bucket, else
// the prefix of a prefix-limited one.
std::string BrowseFrom(const Principal& who, const std::string& bucket) {
  if (who.Allows(bucket, v1::Grant::READ)) return "";
  for (const v1::Grant& g : who.grants) {
    if ((g.bucket() == "*" || g.bucket() == bucket) && g.right() >= v1::Grant::READ) {
      return g.prefix();
    }
  }
  return "";
}

absl::StatusOr<boost::json::array> BucketsJson(Console::Impl& c, const Principal* only) {
  ASSIGN_OR_RETURN(auto buckets, c.deps.meta.ListBuckets());
  boost::json::array out;
  for (const auto& [name, record] : buckets) {
    if (only && !only->HasAnyGrantOn(name)) continue;
    ASSIGN_OR_RETURN(auto usage, c.deps.meta.BucketUsage(name));
    out.push_back(boost::json::object{{"name", name},
                                      {"bytes", usage.bytes()},
                                      {"objects", usage.objects()},
                                      {"quota_bytes", record.quota_bytes()},
                                      {"quota_objects", record.quota_objects()},
                                      {"prefix", only ? BrowseFrom(*only, name) : ""}});
  }
  return out;
}

// A non-negative integer field (0 when missing); INVALID_ARGUMENT otherwise.
absl::StatusOr<uint64_t> Count(const boost::json::object& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->value().is_null()) return 0;
  if (!it->value().is_int64() || it->value().as_int64() < 0) {
    return absl::InvalidArgumentError(std::string(name) + ": a whole number, 0 for none");
  }
  return static_cast<uint64_t>(it->value().as_int64());
}

// POST /admin/quota {"bucket", "bytes", "objects"}: 0 (or missing) removes that quota.
absl::StatusOr<boost::json::value> SetQuota(Console::Impl& c, Call& call) {
  std::string bucket = Field(call.body, "bucket");
  ASSIGN_OR_RETURN(uint64_t bytes, Count(call.body, "bytes"));
  ASSIGN_OR_RETURN(uint64_t objects, Count(call.body, "objects"));
  absl::Status changed = c.deps.meta.UpdateBucket(bucket, [&](v1::BucketRecord& r) {
    r.set_quota_bytes(bytes);
    r.set_quota_objects(objects);
    return absl::OkStatus();
  });
  std::string target =
      bucket + " bytes=" + std::to_string(bytes) + " objects=" + std::to_string(objects);
  RETURN_IF_ERROR(c.accounts.Audit(call.actor, "bucket.quota", target, changed.ok()));
  RETURN_IF_ERROR(changed);
  return boost::json::object{{"ok", true}};
}

}  // namespace

absl::StatusOr<std::optional<boost::json::value>> Console::Impl::BucketRoutes(Call& call) {
  const std::string& m = call.method;
  const std::string& p = call.path;
  if (m == "GET" && p == "/buckets") {
    ASSIGN_OR_RETURN(Principal me, PrincipalOf(call.actor.name));
    ASSIGN_OR_RETURN(auto out, BucketsJson(*this, &me));
    return boost::json::value(std::move(out));
  }
  if (p != "/admin/buckets" && p != "/admin/quota") return std::nullopt;
  if (!call.session->admin) return absl::PermissionDeniedError("admins only");
  if (m == "GET" && p == "/admin/buckets") {
    ASSIGN_OR_RETURN(auto out, BucketsJson(*this, nullptr));
    return boost::json::value(std::move(out));
  }
  if (m == "POST" && p == "/admin/quota") return SetQuota(*this, call);
  return std::nullopt;
}

}  // namespace mosaic::gateway::console
