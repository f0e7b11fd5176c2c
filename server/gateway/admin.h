#pragma once
// The gateway's admin listener (loopback by default): GET /health, GET /metrics, and the
// access-key API used by `mosaic key`, which needs the admin token
// (<data_dir>/admin.token, mode 0600, created on first start); its client side, for the
// CLI, is admin_client.h:
//   POST   /admin/v1/keys?name=N&grant=BUCKET:read|write|owner…  -> {"id":…,"secret":…}
//   GET    /admin/v1/keys                                          -> [{"id","name","grants"}]
//   DELETE /admin/v1/keys/ID                                       -> 204, or 404
// and the data's status and node states, used by `mosaic status` and `mosaic node`:
//   GET    /admin/v1/status                       -> the status document (status.h)
//   POST   /admin/v1/nodes  {"id", "provider", "address", "token", "site", "weight",
//                            "plaintext", "tls_ca_pem", "tls_server_name", "tls_fingerprint"}
//          -> {"node", "provider", "state"}; 400 for a bad document, 409 for an id in use or
//             a node that does not answer (`mosaic node add`)
//   POST   /admin/v1/nodes/ID/drain|remove|activate
//          -> {"node", "state", "stripes_queued", "shards"}; 404 for a node not in the node
//             list, 409 to drain or activate a removed node

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/rpc/node_pool.h"
#include "common/metrics.h"
#include "proto/mosaic/v1/meta.pb.h"
#include "server/gateway/http/exchange.h"

namespace mosaic::gateway {

class Gateway;

// Serves one admin request on the connection's thread (it may block for a status scan).
void HandleAdmin(Gateway& gateway, metrics::Registry& registry, const std::string& token,
                 client::NodePool& pool, Exchange& ex);

// Reads <dir>/admin.token, creating it (random, 0600) if missing.
[[nodiscard]] absl::StatusOr<std::string> LoadOrCreateAdminToken(const std::string& dir);

}  // namespace mosaic::gateway
