#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine (apt-get), builds everything with warnings as errors, and
# runs every test (unit and integration). Extra arguments go to ctest (e.g. -L unit).
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh
# The pinned AWS SDK for JavaScript (tests/integration/js/package-lock.json) for tools_test.py.
npm ci --prefix tests/integration/js --no-audit --no-fund
# The pinned Playwright (tests/console/package-lock.json) for the console's browser tests;
# it drives Debian's chromium, never a browser of its own.
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix tests/console --no-audit --no-fund
build_dir=${MOSAIC_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DMOSAIC_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir"
ctest --test-dir "$build_dir" --output-on-failure --timeout 900 -j "$(nproc)" "$@"
