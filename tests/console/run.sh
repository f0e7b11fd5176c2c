#!/bin/sh
# The console's browser tests (issue 15), as ctest console_browser_test runs them:
# Debian's chromium driven by @playwright/test (pinned in package-lock.json) against a real
# `mosaic dev`. A missing chromium or node fails the test; it never skips.
# Usage: MOSAIC_BINARY=build/mosaic tests/console/run.sh [playwright args]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -x /usr/bin/chromium ]; then
  echo "console tests: /usr/bin/chromium is missing (apt-get install chromium; deploy/install-deps.sh)" >&2
  exit 1
fi
if ! command -v npm >/dev/null; then
  echo "console tests: npm is missing (deploy/install-deps.sh)" >&2
  exit 1
fi
: "${MOSAIC_BINARY:?set MOSAIC_BINARY to the mosaic binary}"
MOSAIC_BINARY=$(cd "$(dirname "$MOSAIC_BINARY")" && pwd)/$(basename "$MOSAIC_BINARY")
export MOSAIC_BINARY
cd "$here"
if [ ! -d node_modules/@playwright/test ]; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
fi
exec npx playwright test "$@"
