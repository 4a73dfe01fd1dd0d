#!/usr/bin/env bash
# A Xen host through libvirt's libxl driver against the same domU under the
# nested toolstack, measured in one run:
#  1. `blackout xen-host` from start to libvirt answering (Xen, dom0,
#     xenstored, libvirtd with libxl);
#  2. the same xen-pv-domu smoke config, RUNS runs each, alternating: under
#     the direct QEMU backend (the baseline: QEMU boots Xen and a dom0 whose
#     xl starts the domU, every run) and on the Xen host (libvirt creates the
#     domU on a Xen that is already up): QEMU start (or domain creation) to
#     the domU's first heartbeat, and the run's wall time; medians and ratios.
#
#   bench/xen_host.sh [RUNS]   (default 3)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
runs=${1:-3}
bench_count RUNS "$runs"
BLACKOUT=build/bin/blackout
PORT=${XEN_HOST_PORT:-16600}
T=$(mktemp -d /tmp/blackout-bench-XXXXXX)
finish() {
  [ -z "${pid:-}" ] || { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; }
  rm -rf "$T"
}
trap finish EXIT
now() { date +%s.%N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

cat > "$T/run.yaml" <<'YAML'
guest: xen-pv-domu
workload: {name: smoke, duration: 10s, stressors: [{kind: pingpong, threads: 1}, {kind: migrate, threads: 1}]}
YAML
bench_run "$BLACKOUT" -c "$T/run.yaml" --results "$T/warm" >/dev/null || true  # warm the cache
if bench_checking; then
  bench_run "$BLACKOUT" -c "$T/run.yaml" --host "xen+tcp://127.0.0.1:$PORT/system"
  exit 0
fi

# 1. The Xen host, to libvirt answering.
t0=$(now)
"$BLACKOUT" xen-host --port "$PORT" --console "$T/console.log" > "$T/xen-host.out" 2>/dev/null &
pid=$!
until grep -q '^ready: ' "$T/xen-host.out"; do
  kill -0 "$pid" 2>/dev/null || { echo "bench: xen-host failed" >&2; exit 1; }
  sleep 0.2
done
echo "xen-host: libvirt answers after $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')s: $(grep '^ready: ' "$T/xen-host.out")"
uri="xen+tcp://127.0.0.1:$PORT/system"
"$BLACKOUT" -q run -c "$T/run.yaml" --host "$uri" --results "$T/warm-host" >/dev/null || true  # upload once

# 2. Nested toolstack against the Xen host, alternating.
for i in $(seq 1 "$runs"); do
  for where in nested host; do
    args=()
    [ "$where" = host ] && args=(--host "$uri")
    t0=$(now)
    "$BLACKOUT" -q run -c "$T/run.yaml" "${args[@]}" --results "$T/$where-$i" >/dev/null || true
    t1=$(now)
    r=$(ls "$T/$where-$i"/*/result.json)
    echo "$(jq -r .timings.first_heartbeat_s "$r") $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" >> "$T/$where.txt"
    [ "$(jq -r .verdict "$r")" = pass ] || echo "note: $where run $i: $(jq -r '.verdict + ": " + .title' "$r")"
  done
done
n_first=$(awk '{ print $1 }' "$T/nested.txt" | median)
n_wall=$(awk '{ print $2 }' "$T/nested.txt" | median)
h_first=$(awk '{ print $1 }' "$T/host.txt" | median)
h_wall=$(awk '{ print $2 }' "$T/host.txt" | median)
echo "xen-pv-domu, smoke 10s, median of $runs:"
printf "%-36s %10s %10s\n" where "first hb" "wall"
printf "%-36s %9.2fs %9.2fs\n" "nested xl under QEMU (baseline)" "$n_first" "$n_wall"
printf "%-36s %9.2fs %9.2fs\n" "Xen host via libvirt libxl" "$h_first" "$h_wall"
awk -v a="$h_first" -v b="$n_first" -v c="$h_wall" -v d="$n_wall" \
  'BEGIN { printf "ratio Xen host/nested: first heartbeat %.2f, wall %.2f\n", a / b, c / d }'
echo "(the Xen host is itself a TCG guest on this machine's 2 cores; a real one runs the domU on hardware)"
