// The `mosaic` executable: one binary with a subcommand per role, so that a provider or a
// group installs one thing.

#include <cstdio>

#include "common/version.h"
#include "server/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"Mosaic: S3 object storage spread over independent providers", "mosaic"};
  app.require_subcommand(1);
  app.add_subcommand("version", "Print the version")->callback([] {
    std::printf("mosaic %s\n", mosaic::kVersion);
  });
  mosaic::AddNodeCommand(app);
  mosaic::AddDevCommand(app);
  mosaic::AddKeygenCommand(app);
  mosaic::AddGatewayCommand(app);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
