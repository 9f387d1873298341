#!/usr/bin/env bash
# Installs what is needed, builds everything with warnings as errors, and
# runs the whole test suite (unit, integration, CLI, and a bounded fuzzing
# run). Exits non-zero when any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
jobs="$(nproc)"

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPORTCULLIS_WERROR=ON >/dev/null
cmake --build build -- -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

# Fuzzing with libFuzzer (clang, ASan + UBSan): the policy parser, the
# daemon's HTTP request parsing and the webhook verifiers. Each replays its
# saved regressions, then fuzzes for a bounded time (60 s, 30 s, 30 s).
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DPORTCULLIS_FUZZ=ON -DPORTCULLIS_TESTS=OFF -DPORTCULLIS_BENCH=OFF >/dev/null
cmake --build build-fuzz --target fuzz_policy_parser fuzz_http_request fuzz_webhooks -- -j"$jobs"
ctest --test-dir build-fuzz -L fuzz --output-on-failure
