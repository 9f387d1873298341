#!/usr/bin/env bash
# Installs every Debian package that building, testing and benchmarking
# Portcullis needs. Idempotent: when everything is present it prints nothing
# and does not touch the network.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  clang libclang-rt-dev
  tao-pegtl-dev
  libboost-dev
  libcurl4-openssl-dev
  libsqlite3-dev sqlite3
  libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev
  nlohmann-json3-dev
  libcli11-dev
  libbenchmark-dev
  libre2-dev
  libssl-dev
  tzdata
  graphviz
  time
  python3
  curl
  chromium  # headless browser: tests/cli/audit_html_test.cpp opens the HTML audit exports
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  SUDO=sudo
else
  SUDO=
fi

echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
