#include "common/daemon.h"

#include <gtest/gtest.h>

#include "absl/synchronization/mutex.h"

namespace mosaic {
namespace {

// Two locks taken in both orders: with Abseil's deadlock detection on (Debian's default)
// the second order aborts the process ("Potential Mutex deadlock"), so this test only passes
// once DisableMutexDeadlockDetection has turned the detection (and its global lock) off.
TEST(DaemonTest, MutexDeadlockDetectionIsOff) {
  DisableMutexDeadlockDetection();
  absl::Mutex a, b;
  {
    absl::MutexLock la(&a);
    absl::MutexLock lb(&b);
  }
  {
    absl::MutexLock lb(&b);
    absl::MutexLock la(&a);
  }
  SUCCEED();
}

}  // namespace
}  // namespace mosaic
