// Fuzz target: the text an operator or a provider hands Mosaic: the gateway's and the node's
// TOML configs (config.h of each) and a provider's invite (gateway/invite.h). Byte 0 picks.
// A config is read at start and a bad one must be an error message, never a crash.

#include <cstdint>
#include <string>

#include "bench/fuzz/fuzz_input.h"
#include "common/check.h"
#include "server/gateway/config.h"
#include "server/gateway/invite.h"
#include "server/node/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mosaic::fuzz::FuzzInput in(data, size);
  uint8_t selector = in.Byte();
  std::string text(in.Rest());
  switch (selector % 3) {
    case 0:
      (void)mosaic::gateway::ParseGatewayConfig(text);
      break;
    case 1:
      (void)mosaic::node::ParseNodeConfig(text);
      break;
    default: {
      auto invite = mosaic::gateway::ParseInvite(text);
      if (invite.ok()) CHECK(!invite->node_id.empty() && !invite->token.empty());
      break;
    }
  }
  return 0;
}
