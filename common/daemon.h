#pragma once
// What every long-running `mosaic` process does the same way: stop signals, and the files
// that publish its bound addresses to scripts and tests.

#include <string>

namespace mosaic {

// Blocks SIGTERM and SIGINT in the calling thread and every thread it starts later (call
// before starting any), and ignores SIGPIPE.
void BlockStopSignals();

// Turns off Abseil's Mutex deadlock detection for the process. Debian's Abseil is built with
// it on: every lock of an absl::Mutex (gRPC's locks are absl::Mutex) then takes one
// process-wide lock to update a graph of held locks, and records stack traces, which
// serialises gRPC's threads in the gateway and the nodes. Call first thing in main.
void DisableMutexDeadlockDetection();

// Waits for SIGTERM or SIGINT (blocked by BlockStopSignals) and returns which.
int WaitForStopSignal();

// Writes `address` and a newline to `path` atomically (a temporary file, then rename), so
// a reader never sees half an address. Returns false if it could not.
bool WriteAddressFile(const std::string& path, const std::string& address);

}  // namespace mosaic
