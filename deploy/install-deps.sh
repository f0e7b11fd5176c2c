#!/usr/bin/env bash
# Installs every build and test dependency of Mosaic on Debian 12 with apt-get.
# Idempotent: when everything is already installed it prints nothing and exits 0.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git
  # libraries (docs/dependencies.md says why each is here)
  librocksdb-dev libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libsodium-dev liburing-dev libisal-dev libboost1.81-dev libtomlplusplus-dev
  libspdlog-dev libcli11-dev libpugixml-dev libssl-dev libbenchmark-dev libgtest-dev
  libgmock-dev
  # metadata on PostgreSQL (issue 17): libpq for the gateway, the server for dev and tests
  libpq-dev postgresql-15
  # test tools: real clients and process helpers
  curl python3 procps
  # onboarding tests: the openssl tool, and ip for the network-namespace demo
  openssl iproute2
  awscli python3-boto3 rclone s3cmd restic
  # the guides' commands (tests/integration/guides): jq reads an invite and a key's JSON
  jq
  # fuzzing (bench/fuzz/run.sh): clang and its libFuzzer and sanitizer runtimes
  clang-14 libclang-rt-14-dev
  # the format check (deploy/check-format.sh, ctest format_check)
  clang-format-14
  # promtool, for the example alert rules (deploy/alerts/check.sh, ctest alert_rules)
  prometheus
  # the console's browser tests (tests/console, ctest console_browser_test)
  chromium
)
# The AWS SDK for JavaScript test (tests/integration/js) needs node and npm. A machine with
# NodeSource's nodejs already has its own npm (Debian's npm would conflict with it), so
# Debian's nodejs and npm are added only when there is no npm at all.
if ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
