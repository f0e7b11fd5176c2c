// The data-safety page's actions (issue 15), each behind an admin session, the CSRF check and
// an audit line like every admin change: node drain / undrain / remove under the same safety
// rules as `mosaic node drain|remove` (drain_safety.h; the console never forces), what such a
// change does to safety said before it is confirmed, a node added from a provider's invite
// (invite.h PinnedEndpoint, then NodeStates::Add: the path of `mosaic gateway node add`), and
// the deep scrub: started, its progress, and what the scrubs found.

#include <set>
#include <tuple>

#include "common/bytes.h"
#include "common/status.h"
#include "server/gateway/console/internal/api.h"
#include "server/gateway/drain_safety.h"
#include "server/gateway/invite.h"
#include "server/gateway/jobs/scrubber.h"
#include "server/gateway/meta/meta_store.h"
#include "server/gateway/node_states.h"
#include "server/gateway/status.h"

namespace mosaic::gateway::console {
namespace {

// Repairs looked at to tell a finding still queued from one repaired.
constexpr size_t kRepairsScanned = 10000;

absl::StatusOr<v1::NodeStateRecord::State> StateFor(const std::string& action) {
  if (action == "drain") return v1::NodeStateRecord::DRAINING;
  if (action == "activate") return v1::NodeStateRecord::ACTIVE;
  if (action == "remove") return v1::NodeStateRecord::REMOVED;
  return absl::InvalidArgumentError("action: drain, activate or remove");
}

boost::json::value Survives(const std::optional<int>& n) {
  return n ? boost::json::value(*n) : boost::json::value(nullptr);
}

// What draining or removing `node` does to safety, and why it would be refused ("" if not).
absl::StatusOr<boost::json::object> Impact(Console::Impl& c, const std::string& node,
                                           const std::string& action) {
  ASSIGN_OR_RETURN(DrainImpact impact, c.deps.gateway.status().ImpactOfDrain(node));
  return boost::json::object{
      {"node", node},
      {"action", action},
      {"tolerance", ToleranceText(impact, action)},
      {"unsafe", UnsafeReason(impact, c.deps.gateway.status().DefaultShards(), action)},
      {"survives_before", Survives(impact.survives_before)},
      {"survives_after", Survives(impact.survives_after)},
      {"stripes_moved", impact.stripes_moved},
      {"stripes_doubled", impact.stripes_doubled}};
}

// POST /admin/nodes {"node", "action": "drain"|"activate"|"remove"}: an unsafe drain or
// removal is refused (FAILED_PRECONDITION); an operator who accepts it uses the CLI's --force.
absl::StatusOr<boost::json::value> NodeAction(Console::Impl& c, Call& call) {
  std::string node = Field(call.body, "node"), action = Field(call.body, "action");
  ASSIGN_OR_RETURN(auto state, StateFor(action));
  std::string tolerance;
  if (state != v1::NodeStateRecord::ACTIVE) {
    ASSIGN_OR_RETURN(auto impact, Impact(c, node, action));
    std::string unsafe(impact["unsafe"].as_string());
    if (!unsafe.empty()) {
      RETURN_IF_ERROR(c.accounts.Audit(call.actor, "node." + action, node, false));
      return absl::FailedPreconditionError(
          unsafe + " Not done. (An operator who accepts this runs `mosaic node " + action + " " +
          node + " --force`.)");
    }
    tolerance = std::string(impact["tolerance"].as_string());
  }
  auto change = c.deps.gateway.node_states().Set(node, state);
  RETURN_IF_ERROR(c.accounts.Audit(call.actor, "node." + action, node, change.ok()));
  if (!change.ok()) return change.status();
  return boost::json::object{{"node", node},
                             {"state", NodeStateName(change->record.state())},
                             {"stripes_queued", change->stripes_queued},
                             {"tolerance", tolerance}};
}

// POST /admin/nodes/invite/check {"invite"}: the invite read (nothing fetched or changed)
// and what adding its node does to safety.
absl::StatusOr<boost::json::value> CheckInvite(Console::Impl& c, Call& call) {
  ASSIGN_OR_RETURN(Invite invite, ParseInvite(Field(call.body, "invite")));
  std::set<std::string> providers;
  bool id_in_use = false;
  for (int i = 0; i < c.deps.pool.size(); ++i) {
    providers.insert(c.deps.pool.node(i).endpoint().spec.provider);
    id_in_use = id_in_use || c.deps.pool.node(i).id() == invite.node_id;
  }
  bool new_provider = !providers.contains(invite.provider);
  std::string effect =
      new_provider
          ? "Adds provider " + invite.provider +
                ": new stripes may put a shard there, and stripes that keep two shards at one "
                "provider move onto it, so the data can survive the loss of more providers."
          : "Adds room at provider " + invite.provider +
                "; the number of provider losses the data survives does not change (it counts "
                "providers, not nodes).";
  effect += " Nothing is taken away: adding a node never makes the data less safe.";
  return boost::json::object{{"node", invite.node_id},
                             {"provider", invite.provider},
                             {"address", invite.address},
                             {"fingerprint", invite.fingerprint},
                             {"new_provider", new_provider},
                             {"id_in_use", id_in_use},
                             {"effect", effect}};
}

// POST /admin/nodes/invite {"invite"}: the node added, its certificate pinned.
absl::StatusOr<boost::json::value> AddByInvite(Console::Impl& c, Call& call) {
  ASSIGN_OR_RETURN(Invite invite, ParseInvite(Field(call.body, "invite")));
  auto added = [&]() -> absl::StatusOr<NodeStates::Change> {
    ASSIGN_OR_RETURN(client::NodeEndpoint e, PinnedEndpoint(invite, std::chrono::seconds(10)));
    return c.deps.gateway.node_states().Add(std::move(e));
  }();
  RETURN_IF_ERROR(c.accounts.Audit(call.actor, "node.add", invite.node_id, added.ok()));
  if (!added.ok()) return added.status();
  return boost::json::object{{"node", invite.node_id},
                             {"provider", invite.provider},
                             {"state", NodeStateName(added->record.state())},
                             {"stripes_queued", added->stripes_queued}};
}

// The console shows what GET /admin/v1/scrub shows: one writer of the progress document.
boost::json::object ProgressObject(const DeepScrubProgress& p) {
  return boost::json::parse(ProgressJson(p)).as_object();
}

// GET /admin/scrub: the deep scrub's progress and the recent findings, newest first, each
// "queued" while a repair of its shard waits and "repaired" once none does (kept in the
// metadata: Scrubber::FindingsJson).
absl::StatusOr<boost::json::value> Scrub(Console::Impl& c) {
  Scrubber& scrubber = c.deps.gateway.scrubber();
  boost::json::object out = ProgressObject(scrubber.progress());
  ASSIGN_OR_RETURN(std::string findings, scrubber.FindingsJson(kRepairsScanned));
  out["findings"] = boost::json::parse(findings);
  return boost::json::value(std::move(out));
}

}  // namespace

absl::StatusOr<std::optional<boost::json::value>> Console::Impl::SafetyRoutes(Call& call) {
  const std::string& m = call.method;
  const std::string& p = call.path;
  if (!p.starts_with("/admin/nodes") && p != "/admin/scrub") return std::nullopt;
  if (!call.session->admin) return absl::PermissionDeniedError("admins only");
  if (m == "POST" && p == "/admin/nodes") return NodeAction(*this, call);
  if (m == "POST" && p == "/admin/nodes/impact") {
    ASSIGN_OR_RETURN(auto impact,
                     Impact(*this, Field(call.body, "node"), Field(call.body, "action")));
    return boost::json::value(std::move(impact));
  }
  if (m == "POST" && p == "/admin/nodes/invite/check") return CheckInvite(*this, call);
  if (m == "POST" && p == "/admin/nodes/invite") return AddByInvite(*this, call);
  if (m == "POST" && p == "/admin/scrub") {
    bool started = deps.gateway.scrubber().StartDeepScrub();
    RETURN_IF_ERROR(accounts.Audit(call.actor, "scrub.start", "", started));
    if (!started) return absl::FailedPreconditionError("a deep scrub is running already");
    return boost::json::value(ProgressObject(deps.gateway.scrubber().progress()));
  }
  if (m == "GET" && p == "/admin/scrub") return Scrub(*this);
  return std::nullopt;
}

}  // namespace mosaic::gateway::console
