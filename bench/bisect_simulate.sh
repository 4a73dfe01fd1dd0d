#!/usr/bin/env bash
# The bisection engine's table: n in {64, 1024}, p in {0.1, 0.3, 0.5, 1},
# 1000 trials each, with git bisect (k repeats tuned to the same accuracy)
# measured beside it in the same run, and the information bound log2(n)/C(p);
# then the time-to-hang world (ratio: coin engine / exposure engine).
#   bench/bisect_simulate.sh [TRIALS]
set -euo pipefail
cd "$(dirname "$0")/.."
build/bin/blackout bisect simulate --trials "${1:-1000}" --n 64 1024 --p 0.1 0.3 0.5 1
# The time-to-hang world: the exposure engine against the coin engine and git
# bisect in guest-minutes, fast and slow hangs, runs of up to 180 s and 600 s;
# then Weibull-shaped times to hang (a heavy tail, 0.5, and a rising hazard,
# 2), with the exposure engine learning the shape (its default) and assuming
# a steady rate (--shape exponential).
for d in 180s 600s; do
  build/bin/blackout bisect simulate --trials "${1:-1000}" --n 64 1024 --hang-time 40 120 600 --duration "$d" --overhead 10s
done
for w in 0.5 2; do
  for shape in unknown exponential; do
    build/bin/blackout bisect simulate --trials "${1:-1000}" --n 64 --hang-time 40 120 --duration 180s --overhead 10s \
      --weibull "$w" --shape "$shape"
  done
done
