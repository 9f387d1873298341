#!/usr/bin/env bash
# The main job: installs what is needed, builds Portcullis, and runs it over
# the shipped policies (the acme example and the standard modules).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPORTCULLIS_TESTS=OFF -DPORTCULLIS_BENCH=OFF >/dev/null
cmake --build build --target portcullis -- -j"$(nproc)"

portcullis=build/tools/cli/portcullis
echo "== portcullis check --strict examples/ policies/"
"$portcullis" check --strict examples/ policies/
echo "== portcullis fmt --check examples/ policies/"
"$portcullis" fmt --check examples/ policies/
echo "== portcullis test examples/ policies/"
"$portcullis" test --directory examples/acme/directory.json examples/ policies/
echo "== portcullis explain: a two-step privileged request"
"$portcullis" explain examples/acme/acme.policy --directory examples/acme/directory.json \
  --requester ann.lee@acme.com --app aws_prod --role admin --duration 6h \
  --reason "INC-4411: failover of the orders database" --ticket ACC-1042
echo "== portcullis explain: a contractor asks for Figma"
"$portcullis" explain examples/acme/acme.policy --directory examples/acme/directory.json \
  --requester ann.lee@acme.com --app figma --role viewer --attr employment=contractor
