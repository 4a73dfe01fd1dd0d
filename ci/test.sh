#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs the
# default suite (unit + e2e; e2e tests boot real guests one at a time).
# Pass ctest arguments to narrow it, e.g. ci/test.sh -L unit.
set -euo pipefail
cd "$(dirname "$0")/.."
ci/install-deps.sh
ci/build.sh
if [ "$#" -eq 0 ]; then set -- -LE slow; fi
cd build
ctest --output-on-failure --timeout 900 "$@"
