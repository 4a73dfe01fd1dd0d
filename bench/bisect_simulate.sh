#!/usr/bin/env bash
# The bisection engine's table: n in {64, 1024}, p in {0.1, 0.3, 0.5, 1},
# 1000 trials each, with git bisect (k repeats tuned to the same accuracy)
# measured beside it in the same run, and the information bound log2(n)/C(p).
#   bench/bisect_simulate.sh [TRIALS]
set -euo pipefail
cd "$(dirname "$0")/.."
exec build/bin/blackout bisect simulate --trials "${1:-1000}" --n 64 1024 --p 0.1 0.3 0.5 1
