#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test: unit tests, then the e2e suites against
# real test servers (it starts dockerd and builds the test-server image if needed).
#   scripts/test.sh            all tests
#   scripts/test.sh unit       unit tests only
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
if [ "${1:-all}" != unit ]; then
  bash scripts/testenv.sh
fi
label=${1:-}
[ "$label" = all ] && label=
cd build
ctest --output-on-failure -j1 ${label:+-L "$label"}
