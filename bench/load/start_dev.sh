# Sourced by the bench/load scripts: starts `mosaic dev` from "$mosaic" in a new folder under
# /var/tmp (its path in $dir, its pid in $dev), stops it and removes the folder at exit, and
# returns once dev.json is written (or exits 1 with where to look).
dir=$(mktemp -d /var/tmp/s3bench.XXXXXX)
"$mosaic" dev --dir "$dir" --port 0 >"$dir/dev.out" 2>&1 &
dev=$!
trap 'kill $dev 2>/dev/null; wait $dev 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 600); do [ -s "$dir/dev.json" ] && break; sleep 0.1; done
[ -s "$dir/dev.json" ] || { echo "mosaic dev did not start; see $dir/dev.out" >&2; exit 1; }
