#!/usr/bin/env bash
# Checks that every tracked C++ file is formatted as .clang-format says (clang-format-14, the
# version Debian 12 ships: other versions format some constructs differently). Prints each file
# that differs and exits 1; `deploy/check-format.sh --fix` rewrites them instead.
set -euo pipefail
cd "$(dirname "$0")/.."
formatter=clang-format-14
if ! command -v "$formatter" >/dev/null 2>&1; then
  echo "check-format: $formatter is missing (deploy/install-deps.sh installs it)" >&2
  exit 1
fi
mapfile -t files < <(git ls-files '*.cc' '*.h' '*.cpp')
if [ "${1:-}" = "--fix" ]; then
  "$formatter" -i "${files[@]}"
  exit 0
fi
bad=0
for f in "${files[@]}"; do
  if ! "$formatter" --dry-run -Werror "$f" >/dev/null 2>&1; then
    echo "check-format: $f is not formatted (run deploy/check-format.sh --fix)" >&2
    bad=1
  fi
done
exit "$bad"
