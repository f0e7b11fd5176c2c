#!/usr/bin/env bash
# The sanitizer lane (issue 18): builds Mosaic with AddressSanitizer + UndefinedBehaviorSanitizer
# (MOSAIC_SANITIZE=asan) in its own build directory and runs the unit and integration tests there;
# then builds the concurrency-heavy unit tests with ThreadSanitizer (MOSAIC_SANITIZE=tsan) in a
# second directory and runs them. Any sanitizer report fails the test that triggered it.
#   deploy/sanitize.sh            both lanes
#   deploy/sanitize.sh asan|tsan  one lane
# Extra arguments after the lane go to ctest (e.g. -R node_store).
# Slow (a full build per lane, tests 2-5x slower): run it nice'd, not in the default CI.
set -euo pipefail
cd "$(dirname "$0")/.."
lanes=${1:-all}
[ $# -gt 0 ] && shift
jobs=${MOSAIC_SANITIZE_JOBS:-$(nproc)}

# halt_on_error: the first report ends the process with a failure, so ctest sees it.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/deploy/lsan.supp:print_suppressions=0}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/deploy/tsan.supp}

# Without -Werror: under -fsanitize, GCC 12 warns -Wmaybe-uninitialized inside Boost.Beast's
# parser headers (a false positive that stopped the lane's build in http/server.cc); the normal
# build (deploy/test.sh) keeps warnings as errors.
configure() {  # dir, sanitizer
  cmake -S . -B "$1" -G Ninja -DMOSAIC_WERROR=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMOSAIC_SANITIZE="$2" -DMOSAIC_BUILD_BENCH=OFF >/dev/null
}

if [ "$lanes" = all ] || [ "$lanes" = asan ]; then
  dir=${MOSAIC_ASAN_BUILD_DIR:-build-asan}
  configure "$dir" asan
  cmake --build "$dir" -j "$jobs"
  # -LE rss: the tests that bound a process's RSS (tests/rss_labels.cmake) mean nothing here,
  # where RSS counts ASan's shadow memory and its quarantine of freed blocks.
  ctest --test-dir "$dir" --output-on-failure --timeout 1800 -j "$jobs" -LE rss "$@"
fi

if [ "$lanes" = all ] || [ "$lanes" = tsan ]; then
  dir=${MOSAIC_TSAN_BUILD_DIR:-build-tsan}
  configure "$dir" tsan
  # The concurrency-heavy tests: the node's segment store (writer, reader, buffer pool), the
  # gateway's jobs, the client pipeline's writer and reader against real nodes (gRPC), and the
  # HTTP server (its I/O thread, connection threads and Stop). Run as executables (ctest names
  # the cases, not the executables). docs/testing.md says what TSan covers and where it does
  # not work.
  targets=(${MOSAIC_TSAN_TESTS:-node_store_test gateway_jobs_test pipeline_integration_test
    gateway_http_test})
  cmake --build "$dir" -j "$jobs" --target mosaic "${targets[@]}"
  failed=()
  for t in "${targets[@]}"; do
    echo "== tsan: $t"
    (cd "$dir" && "./tests/$t" "$@") || failed+=("$t")
  done
  if [ ${#failed[@]} -gt 0 ]; then
    echo "tsan lane failed: ${failed[*]}" >&2
    exit 1
  fi
fi
