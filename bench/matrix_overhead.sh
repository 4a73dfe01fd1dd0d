#!/usr/bin/env bash
# What the matrix costs beside its guests: blackout's own CPU time (user +
# system of the blackout process, sampled from /proc/PID/stat until it ends)
# per run, against the CPU time of what it ran for the runs (its reaped
# children: QEMU above all), for a small matrix of real boots. The default
# run's own shape is `bench/matrix_overhead.sh 2 60s xen-pv-dom0 pv-spinlock-race`.
#   bench/matrix_overhead.sh [RUNS=4] [DURATION=20s] [GUEST=hvm] [WORKLOAD=smoke]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
RUNS=${1:-4}
DURATION=${2:-20s}
GUEST=${3:-hvm}
WORKLOAD=${4:-smoke}
bench_count RUNS "$RUNS"
B=build/bin/blackout
T=$(mktemp -d /tmp/blackout-bench-XXXXXX)
trap 'rm -rf "$T"' EXIT
printf 'guest: %s\n' "$GUEST" > "$T/warm.yaml"
bench_run "$B" --workload smoke --duration 2s -c "$T/warm.yaml" --results "$T/warm" > /dev/null || true  # a warm cache
# A cell of the matrix below is this run.
bench_checking && { bench_run "$B" --workload "$WORKLOAD" --duration "$DURATION" -c "$T/warm.yaml"; exit 0; }
cat > "$T/m.yaml" <<YAML
name: overhead
config: {guest: $GUEST}
kernels: [linux-image-amd64]
workloads: [$WORKLOAD]
repeats: $RUNS
duration: $DURATION
YAML
tck=$(getconf CLK_TCK)
"$B" -q matrix -c "$T/m.yaml" --results "$T/r" > "$T/out" 2>&1 &
pid=$!
own=0 kids=0
while stat=$(cat "/proc/$pid/stat" 2> /dev/null); do
  # After the command name (which may hold spaces): fields 14-17 are utime,
  # stime, cutime, cstime in clock ticks.
  rest=${stat##*)}
  set -- $rest
  own=$((${12} + ${13})) kids=$((${14} + ${15}))
  sleep 0.2
done
wait "$pid" || true
judged=$("$B" results --results "$T/r" --json | jq '[.[] | select(.verdict != "infra-error")] | length')
[ "$judged" = "$RUNS" ] || { cat "$T/out"; echo "the matrix judged $judged of $RUNS runs"; exit 1; }
awk -v o="$own" -v k="$kids" -v n="$RUNS" -v t="$tck" -v d="$DURATION" -v g="$GUEST" -v w="$WORKLOAD" 'BEGIN {
  printf "matrix of %d runs (%s, %s, %s)\n", n, g, w, d
  printf "  blackout itself   %8.2fs CPU   %6.2fs per run\n", o / t, o / t / n
  printf "  its children      %8.2fs CPU   %6.2fs per run (QEMU, tools)\n", k / t, k / t / n
  printf "  ratio             %8.4f       (blackout / children)\n", o / k
}'
