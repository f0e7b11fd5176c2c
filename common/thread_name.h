#pragma once
// Names the calling thread (pthread_setname_np), so that `top -H`, perf and
// /proc/<pid>/task/*/comm tell the threads apart (repair helpers from pipeline workers from
// gRPC's). Linux keeps 15 bytes: longer names are cut. Never fails (a name is a diagnostic).

#include <string>
#include <string_view>

namespace mosaic {

void SetCurrentThreadName(std::string_view name);
// The calling thread's name ("" if it cannot be read).
std::string CurrentThreadName();

}  // namespace mosaic
