#!/usr/bin/env bash
# The main job: installs what is needed, builds Portcullis, checks the
# shipped policies, then runs the daemon on its embedded defaults (SQLite,
# sandbox connectors, no credentials) through the scripted demo: requests
# approved, provisioned, expired, triaged, denied and refused, each with its
# evidence, and the audit chain verified. Arguments go to `portcullis demo`
# (e.g. --keep-serving to explore the daemon afterwards; see docs/demo.md).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target portcullis -- -j"$(nproc)"

portcullis=build/tools/cli/portcullis
echo "== portcullis check --strict examples/ policies/"
"$portcullis" check --strict examples/ policies/
echo "== portcullis test examples/ policies/"
"$portcullis" test --directory examples/acme/directory.json examples/ policies/
echo "== portcullis demo $*"
exec "$portcullis" demo "$@"
