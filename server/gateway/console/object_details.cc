// GET /console/api/v1/object?bucket=B&key=K: what an object is and where its data lives —
// every shard's node, that node's provider and health — so a member sees which providers
// hold their files and whether they are safe.

#include <map>
#include <set>

#include "common/status.h"
#include "server/gateway/console/internal/api.h"
#include "server/gateway/meta/meta_store.h"

namespace mosaic::gateway::console {
namespace {

constexpr int kMaxStripesListed = 32;

struct NodeView {
  std::string provider = "?";
  std::string health = "unknown";  // a node no longer in the pool
};

std::map<std::string, NodeView> NodesOf(client::NodePool& pool) {
  std::map<std::string, NodeView> out;
  for (int i = 0; i < pool.size(); ++i) {
    const client::NodeClient& n = pool.node(i);
    out[n.id()] = {n.endpoint().spec.provider, client::NodeHealthName(n.health())};
  }
  return out;
}

boost::json::object Headers(const google::protobuf::Map<std::string, std::string>& map) {
  boost::json::object out;
  for (const auto& [name, value] : map) out[name] = value;
  return out;
}

}  // namespace

absl::StatusOr<boost::json::value> Console::Impl::ObjectDetails(
    const std::map<std::string, std::string>& query, const std::string& member) {
  auto get = [&](const char* name) {
    auto it = query.find(name);
    return it == query.end() ? std::string() : it->second;
  };
  std::string bucket = get("bucket"), key = get("key");
  ASSIGN_OR_RETURN(Principal who, PrincipalOf(member));
  if (!who.AllowsKey(bucket, key, v1::Grant::READ)) return absl::NotFoundError("no such object");
  ASSIGN_OR_RETURN(auto record, deps.meta.GetObject(bucket, key));
  if (!record) return absl::NotFoundError("no such object");
  auto nodes = NodesOf(deps.pool);
  std::map<std::string, int64_t> shards_on;  // node -> shards
  boost::json::array stripes;
  int k = 0, m = 0;
  for (const v1::ObjectPart& part : record->parts()) {
    k = part.manifest().k();
    m = part.manifest().m();
    for (const v1::StripePlacement& s : part.manifest().stripes()) {
      boost::json::array row;
      for (const std::string& n : s.nodes()) {
        ++shards_on[n];
        row.push_back(boost::json::string(n));
      }
      if (stripes.size() < kMaxStripesListed) stripes.push_back(std::move(row));
    }
  }
  boost::json::array placement;
  std::set<std::string> providers;
  for (const auto& [id, count] : shards_on) {
    NodeView v = nodes.count(id) ? nodes[id] : NodeView{};
    providers.insert(v.provider);
    placement.push_back(boost::json::object{
        {"node", id}, {"provider", v.provider}, {"health", v.health}, {"shards", count}});
  }
  std::string checksum = record->has_checksum() ? record->checksum().algorithm() : "";
  boost::json::array tags;
  for (const auto& t : record->tags()) {
    tags.push_back(boost::json::object{{"key", t.key()}, {"value", t.value()}});
  }
  return boost::json::object{{"bucket", bucket},
                             {"key", key},
                             {"size", record->size()},
                             {"etag", record->etag()},
                             {"last_modified_ms", record->last_modified_ms()},
                             {"headers", Headers(record->headers())},
                             {"metadata", Headers(record->user_metadata())},
                             {"tags", tags},
                             {"checksum_algorithm", checksum},
                             {"k", k},
                             {"m", m},
                             {"providers", providers.size()},
                             {"placement", placement},
                             {"stripes", stripes}};
}

}  // namespace mosaic::gateway::console
