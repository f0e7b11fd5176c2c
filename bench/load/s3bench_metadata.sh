#!/bin/bash
# Issue 17: 64 KiB PUT/GET ops/s with the metadata in RocksDB (one gateway), in PostgreSQL
# with one gateway, and in PostgreSQL with two gateways (one s3bench per gateway, 4 lanes
# each, run at once: add their ops/s), one after the other in this run, same load client.
# Each starts its own `mosaic dev` in a temporary folder under /var/tmp and removes it.
#
#   bench/load/s3bench_metadata.sh build/mosaic build/bench/load/s3bench [COUNT]
set -euo pipefail
mosaic=$(realpath "$1") s3bench=$(realpath "$2") count=${3:-400}

# Runs "$@" (with $dir set) against a `mosaic dev` started with the dev arguments in $args.
with_dev() {
  dir=$(mktemp -d /var/tmp/s3bench.XXXXXX)
  chmod 755 "$dir"  # PostgreSQL runs as nobody when we are root: it must enter the folder
  # shellcheck disable=SC2086
  "$mosaic" dev --dir "$dir" --port 0 $args >"$dir/dev.out" 2>&1 &
  dev=$!
  for _ in $(seq 900); do [ -s "$dir/dev.json" ] && break; sleep 0.1; done
  [ -s "$dir/dev.json" ] || { echo "mosaic dev did not start; see $dir/dev.out" >&2; exit 1; }
  "$@" || true
  kill $dev; wait $dev 2>/dev/null || true
  rm -rf "$dir" "$dir-b"
}

one() { "$s3bench" --dev "$dir" --size 65536 --count "$count" --lanes 8 --runs 1; }
# A copy of the dev folder's description whose AWS_ENDPOINT_URL is the second gateway.
two() {
  mkdir "$dir-b" && cp "$dir/dev.json" "$dir-b/"
  second=$(sed -n 's/^MOSAIC_ENDPOINTS="[^ ]* \([^"]*\)"/\1/p' "$dir/dev.env")
  sed "s|^AWS_ENDPOINT_URL=.*|AWS_ENDPOINT_URL=$second|" "$dir/dev.env" >"$dir-b/dev.env"
  "$s3bench" --dev "$dir" --bucket one --size 65536 --count "$count" --lanes 4 --runs 1 \
    >"$dir/one.txt" 2>&1 &
  "$s3bench" --dev "$dir-b" --bucket two --size 65536 --count "$count" --lanes 4 --runs 1
  wait $!
  cat "$dir/one.txt"
}

echo "== RocksDB, 1 gateway"; args="" with_dev one
echo "== PostgreSQL, 1 gateway"; args="--metadata postgresql" with_dev one
echo "== PostgreSQL, 2 gateways (one s3bench each)"
args="--gateways 2 --metadata postgresql" with_dev two
