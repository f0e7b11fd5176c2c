#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, MOSAIC_FUZZ=ON, in build-fuzz) and runs each for
# SECONDS (default 60) on its corpus: the seeds in bench/fuzz/corpus/TARGET (read-only here)
# plus what it finds, kept in build-fuzz/corpus/TARGET. A crash stops that target, leaves
# its input in build-fuzz/crashes/ and makes the script exit 1 after the others ran.
#   bench/fuzz/run.sh [SECONDS] [TARGET...]
# Environment: MOSAIC_FUZZ_JOBS targets at once (default 1), MOSAIC_FUZZ_BUILD_DIR.
# Each crash found is fixed and its input added to bench/fuzz/corpus/TARGET as a regression
# input (docs/testing.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
[ $# -gt 0 ] && shift
dir=${MOSAIC_FUZZ_BUILD_DIR:-build-fuzz}
jobs=${MOSAIC_FUZZ_JOBS:-1}
CC=clang-14 CXX=clang++-14 cmake -S . -B "$dir" -G Ninja -DMOSAIC_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for t in bench/fuzz/fuzz_*.cc; do targets+=("$(basename "$t" .cc)"); done
fi
cmake --build "$dir" --target "${targets[@]}"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$dir/crashes"
run_one() {
  local t=$1
  mkdir -p "$dir/corpus/$t"
  echo "== $t for ${seconds}s"
  "$dir/bench/fuzz/$t" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$dir/crashes/$t-" \
    "$dir/corpus/$t" "bench/fuzz/corpus/$t" >"$dir/$t.log" 2>&1
}
failed=()
running=0
pids=()
names=()
for t in "${targets[@]}"; do
  run_one "$t" &
  pids+=($!)
  names+=("$t")
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait "${pids[0]}" || failed+=("${names[0]}")
    pids=("${pids[@]:1}")
    names=("${names[@]:1}")
    running=$((running - 1))
  fi
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || failed+=("${names[$i]}")
done
for t in "${targets[@]}"; do
  grep -h 'stat::number_of_executed_runs\|Done [0-9]* runs' "$dir/$t.log" | tail -1 | sed "s/^/$t: /"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "crashed: ${failed[*]} (inputs in $dir/crashes/, logs in $dir/TARGET.log)" >&2
  exit 1
fi
