#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and runs the
# main job on the embedded default (Debian's current kernel as a Xen PV dom0,
# the default workload for 60 s) and prints the verdict.
set -euo pipefail
cd "$(dirname "$0")/.."
ci/install-deps.sh
ci/build.sh
exec build/bin/blackout run "$@"
