#!/usr/bin/env bash
# Checks the example alert rules with Debian's promtool (package prometheus): their syntax
# (`promtool check rules`) and their behaviour on sample series (`promtool test rules`).
# Fails, not skips, when promtool is missing. ctest: alert_rules.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v promtool >/dev/null 2>&1; then
  echo "promtool not found: install Debian's prometheus package (deploy/install-deps.sh)" >&2
  exit 1
fi
promtool check rules mosaic.rules.yml
promtool test rules mosaic.rules.test.yml
