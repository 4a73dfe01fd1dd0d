#!/usr/bin/env bash
# What the guest's kernel sees under pv-spinlock-race, on 2 and 4 vCPUs:
# interrupts, context switches, cross-CPU wake-ups and migrations per second
# (the agent reads /proc/stat, /proc/schedstat and se.nr_migrations before and
# after the workload), next to the baseline measured in the same run:
# `stress-ng --iomix 2 --switch 2 --affinity 2` alone (workload stress-ng-mix).
#   bench/workload_rates.sh [DURATION]   (default 60s)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
duration=${1:-60s}
BLACKOUT=build/bin/blackout
T=$(mktemp -d /tmp/blackout-bench-XXXXXX)
trap 'rm -rf "$T"' EXIT

rates() {  # result.json -> "intr/s ctxt/s xcpu-wakeups/s migrations/s verdict"
  jq -r '.stats.guest_counters as $g
         | ([$g.intr, $g.ctxt, $g.ttwu_remote, $g.migrations] | map(. / $g.seconds | floor) | join(" "))
           + " " + .verdict' "$1"
}

declare -A r
for vcpus in 2 4; do
  for w in pv-spinlock-race stress-ng-mix; do
    printf 'guest: {vcpus: %s}\nworkload: %s\n' "$vcpus" "$w" > "$T/c.yaml"
    bench_run "$BLACKOUT" -c "$T/c.yaml" --duration "$duration" --results "$T/$w-$vcpus" >/dev/null || true
    bench_checking && continue
    r[$w-$vcpus]=$(rates "$T/$w-$vcpus"/*/result.json)
  done
done

bench_checking && exit 0
printf '%-6s %-17s %10s %10s %14s %12s  %s\n' vcpus workload intr/s ctxt/s xcpu-wakeup/s migrations/s verdict
for vcpus in 2 4; do
  for w in pv-spinlock-race stress-ng-mix; do
    read -r i c x m v <<< "${r[$w-$vcpus]}"
    bench_checking && exit 0
printf '%-6s %-17s %10s %10s %14s %12s  %s\n' "$vcpus" "$w" "$i" "$c" "$x" "$m" "$v"
  done
  read -r i1 c1 x1 m1 _ <<< "${r[pv-spinlock-race-$vcpus]}"
  read -r i2 c2 x2 m2 _ <<< "${r[stress-ng-mix-$vcpus]}"
  ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
  bench_checking && exit 0
printf '%-6s %-17s %10s %10s %14s %12s\n' "$vcpus" "ratio" "$(ratio "$i1" "$i2")" "$(ratio "$c1" "$c2")" \
    "$(ratio "$x1" "$x2")" "$(ratio "$m1" "$m2")"
done
echo "ratio = pv-spinlock-race / stress-ng-mix, same guest, same kernel, measured in this run ($duration each)"
