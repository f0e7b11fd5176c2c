#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine (apt-get), builds `mosaic`, and starts the local system
# (`mosaic dev`) with its data in ./dev-data. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh
build_dir=${MOSAIC_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" --target mosaic
exec "$build_dir/mosaic" dev --dir "${MOSAIC_DEV_DIR:-dev-data}" "$@"
