#!/bin/bash
# The issue 14 figures with s3bench, each next to its in-run baseline (the object pipeline
# alone, bench/load/pipeline_load, over the same nodes), medians of RUNS (default 3):
#   16 x 64 MiB PUT/GET, 4 lanes; 200 x 64 KiB PUT/GET, 8 lanes (p50 of the GETs);
#   gateway CPU-s per GiB PUT.
# Starts its own `mosaic dev` in a temporary folder under /var/tmp and stops it at the end.
#
#   bench/load/s3bench_figures.sh build/mosaic build/bench/load/s3bench \
#       build/bench/load/pipeline_load [RUNS]
set -euo pipefail
mosaic=$(realpath "$1") s3bench=$(realpath "$2") pipeline_load=$(realpath "$3") runs=${4:-3}
. "$(dirname "$0")/start_dev.sh"
config="$dir/gateway/gateway.toml"
[ -f "$config" ] || config=$(grep -o '"config": "[^"]*gateway.toml"' "$dir/dev.json" | cut -d'"' -f4)
for workload in "67108864 16 4" "65536 200 8"; do
  set -- $workload
  echo "== $2 x $1 bytes, $3 lanes; $(uptime)"
  "$s3bench" --dev "$dir" --size "$1" --count "$2" --lanes "$3" --runs "$runs"
  echo "-- baseline: pipeline_load, the same objects without HTTP ($runs runs)"
  for _ in $(seq "$runs"); do
    "$pipeline_load" --config "$config" --size "$1" --count "$2" --parallel "$3"
  done
done
echo "== done; $(uptime)"
