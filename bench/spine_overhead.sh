#!/usr/bin/env bash
# Measures what blackout adds to a boot: the wall time of `blackout run` against
# the same QEMU command line run by hand (console to a file, no QMP), both from
# a warm cache, plus the time from QEMU's start to the first heartbeat for each.
# Prints ratios against the by-hand baseline measured in the same run.
#
#   bench/spine_overhead.sh [build/bin/blackout] [workload] [duration]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
BLACKOUT=${1:-build/bin/blackout}
WORKLOAD=${2:-pv-spinlock-race}  # the default run's workload
DURATION=${3:-60s}
T=$(mktemp -d /tmp/blackout-bench-XXXXXX)
trap 'rm -rf "$T"' EXIT

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }

# Warm the cache (kernel, Xen) so neither side pays for a download.
bench_run "$BLACKOUT" --workload smoke --results "$T/warm" >/dev/null || true

t0=$(now)
bench_run "$BLACKOUT" --workload "$WORKLOAD" --duration "$DURATION" --keep-scratch --results "$T/r" >/dev/null || true
t1=$(now)
bench_checking && exit 0
result=$(ls "$T"/r/*/result.json)
blackout_wall=$(calc "$t1 - $t0")
blackout_first=$(jq -r '.timings.first_heartbeat_s' "$result")
verdict=$(jq -r '.verdict' "$result")

# The same command line, by hand: the console socket becomes a file and QMP goes.
hand_command "$result" "$T/serial.log"
rm -f "$T/serial.log"
t0=$(now)
"${hand[@]}" >/dev/null 2>&1 </dev/null &
qpid=$!
hand_first=""
while kill -0 "$qpid" 2>/dev/null; do
  if [ -z "$hand_first" ] && grep -qs '@BH1' "$T/serial.log"; then
    hand_first=$(calc "$(now) - $t0")
  fi
  sleep 0.05
done
wait "$qpid" || true
t1=$(now)
hand_wall=$(calc "$t1 - $t0")
scratch=$(scratch_of "$result") && rm -rf "$scratch"

printf '%-28s %10s %10s %8s\n' "" "blackout" "by hand" "ratio"
printf '%-28s %9.2fs %9.2fs %8.3f\n' "wall time ($WORKLOAD $DURATION)" "$blackout_wall" "$hand_wall" "$(calc "$blackout_wall / $hand_wall")"
printf '%-28s %9.2fs %9.2fs %8.3f\n' "QEMU start to 1st heartbeat" "$blackout_first" "${hand_first:-nan}" "$(calc "$blackout_first / ${hand_first:-1}")"
echo "verdict: $verdict"
