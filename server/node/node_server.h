#pragma once
// Runs a storage node until SIGTERM or SIGINT: opens the store, serves gRPC (TLS unless the
// config says plaintext) with the health service, serves /metrics, and writes the bound
// addresses to <data_dir>/grpc.addr and <data_dir>/metrics.addr. On the signal it stops
// accepting calls, finishes those in flight, syncs and returns 0. Returns 1 (after logging
// why) if it cannot start. Call from main, before any other thread is started.
//
// While it runs, <data_dir>/node.pid holds its process id (removed on a clean stop). On
// SIGHUP it reads `config_path` again and serves its tenants from then on (the rest of the
// file is not reloaded); a file that no longer loads is logged and the old tenants kept.

#include <string>

#include "server/node/config.h"

namespace mosaic::node {

int RunNode(const NodeConfig& config, const std::string& config_path = "");

}  // namespace mosaic::node
