// The `mosaic` executable: one binary with a subcommand per role, so that a provider or a
// group installs one thing.

#include <malloc.h>

#include <cstdio>

#include "common/daemon.h"
#include "common/version.h"
#include "server/commands.h"

// Memory: the daemons allocate stripe-sized buffers (MiBs) on many threads. glibc would
// otherwise raise its mmap threshold after the first such buffer is freed and serve later
// ones from per-thread arenas that are never returned, so resident memory would grow far
// past the pipeline's byte budget. A fixed threshold keeps big buffers mmapped (returned
// on free), and few arenas keep small-object fragmentation bounded. Fixing the threshold
// leaves the trim threshold at 128 KiB, so each arena gave its top back (madvise) whenever
// that much was free and faulted it in again at the next burst of gRPC messages: 16 MiB per
// arena (at most 80 MiB kept) saves 0.1 CPU-s per GiB of large GETs in the gateway and
// 0.2–0.4 per GiB of PUTs in the nodes (issue 14).
void TuneMalloc() {
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  mallopt(M_TRIM_THRESHOLD, 16 << 20);
  mallopt(M_ARENA_MAX, 4);
}

int main(int argc, char** argv) {
  TuneMalloc();
  mosaic::DisableMutexDeadlockDetection();
  CLI::App app{"Mosaic: S3 object storage spread over independent providers", "mosaic"};
  app.require_subcommand(1);
  app.add_subcommand("version", "Print the version")->callback([] {
    std::printf("mosaic %s\n", mosaic::kVersion);
  });
  mosaic::AddNodeCommand(app);
  mosaic::AddStatusCommands(app);
  mosaic::AddNodeStateCommands(*app.get_subcommand("node"));
  mosaic::AddDevCommand(app);
  mosaic::AddKeygenCommand(app);
  mosaic::AddGatewayCommand(app);
  mosaic::AddRestoreCommand(app);
  mosaic::AddMetaCommand(app);
  mosaic::AddMemberAndTeamCommands(app);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
