#!/usr/bin/env bash
# The libvirt backend and host pools, measured in one run:
#  1. the same config under the direct QEMU backend (the baseline) and under
#     libvirt on qemu:///system, RUNS runs each, alternating: QEMU start to
#     first heartbeat and the whole run's wall time, medians and ratios;
#  2. the bytes sent to a remote host for a first and a second run (a test
#     host in a network namespace, qemu+tcp);
#  3. runs per hour of `run --repeat N` over 1 host and over 2 hosts (the
#     test hosts share this machine's cores: 2 hosts are 2 guests on the same
#     2 cores, not twice the hardware).
#
#   bench/libvirt_fleet.sh [RUNS] [REPEAT]   (defaults 3 and 4)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
runs=${1:-3}
repeat=${2:-4}
bench_count RUNS "$runs"
bench_count REPEAT "$repeat"
BLACKOUT=build/bin/blackout
T=$(mktemp -d /tmp/blackout-bench-XXXXXX)
fail() { echo "bench: $*" >&2; exit 1; }
. tests/e2e/hosts_lib.sh
cat > "$T/run.yaml" <<'YAML'
workload: {name: smoke, duration: 10s}
YAML
cat > "$T/small.yaml" <<'YAML'
guest: {type: hvm, vcpus: 1}
workload: {name: smoke, duration: 10s}
YAML
if bench_checking; then
  bench_run "$BLACKOUT" -c "$T/run.yaml" --backend libvirt
  bench_run "$BLACKOUT" -c "$T/small.yaml" --host "$(host_uri 1)"
  bench_run "$BLACKOUT" -c "$T/small.yaml" --host "$(host_uri 1)" --host "$(host_uri 2)" --repeat "$repeat"
  rm -rf "$T"
  exit 0
fi
started=""
finish() {
  hosts_cleanup
  [ -z "$started" ] || ci/libvirtd.sh stop >/dev/null
  rm -rf "$T"
}
trap finish EXIT
if ! ci/libvirtd.sh status; then ci/libvirtd.sh start >/dev/null; started=1; fi

now() { date +%s.%N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
"$BLACKOUT" -q run -c "$T/run.yaml" --results "$T/warm" >/dev/null || true  # warm the cache

# 1. Direct QEMU against libvirt, same config, alternating.
for i in $(seq 1 "$runs"); do
  for backend in qemu libvirt; do
    t0=$(now)
    "$BLACKOUT" -q run -c "$T/run.yaml" --backend "$backend" --results "$T/$backend-$i" >/dev/null || true
    t1=$(now)
    r=$(ls "$T/$backend-$i"/*/result.json)
    echo "$(jq -r .timings.first_heartbeat_s "$r") $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
      >> "$T/$backend.txt"
    [ "$(jq -r .verdict "$r")" = pass ] || echo "note: $backend run $i: $(jq -r '.verdict + ": " + .title' "$r")"
  done
done
q_first=$(awk '{ print $1 }' "$T/qemu.txt" | median)
q_wall=$(awk '{ print $2 }' "$T/qemu.txt" | median)
l_first=$(awk '{ print $1 }' "$T/libvirt.txt" | median)
l_wall=$(awk '{ print $2 }' "$T/libvirt.txt" | median)
echo "xen-pv-dom0, smoke 10s, median of $runs:"
printf "%-28s %10s %10s\n" backend "first hb" "wall"
printf "%-28s %9.2fs %9.2fs\n" "qemu (baseline)" "$q_first" "$q_wall"
printf "%-28s %9.2fs %9.2fs\n" "libvirt qemu:///system" "$l_first" "$l_wall"
awk -v a="$l_first" -v b="$q_first" -v c="$l_wall" -v d="$q_wall" \
  'BEGIN { printf "ratio libvirt/qemu: first heartbeat %.2f, wall %.2f\n", a / b, c / d }'

# 2. and 3. Test hosts in network namespaces.
host_up 1
host_up 2
for round in first second; do
  "$BLACKOUT" -q run -c "$T/small.yaml" --host "$(host_uri 1)" --results "$T/up-$round" >/dev/null || true
  r=$(ls "$T/up-$round"/*/result.json)
  echo "upload to a remote host, $round run: $(jq -r .host.uploaded_bytes "$r") bytes sent, $(jq -r .host.reused_bytes "$r") already there"
done
printf 'hosts:\n  - {uri: %s, slots: 1}\n' "$(host_uri 1)" > "$T/one.yaml"
printf 'hosts:\n  - {uri: %s, slots: 1}\n  - {uri: %s, slots: 1}\n' "$(host_uri 1)" "$(host_uri 2)" > "$T/two.yaml"
for pool in one two; do
  # The pool's hosts hold the files already (round 2 above, and host 2 here).
  "$BLACKOUT" -q run -c "$T/small.yaml" --hosts "$T/$pool.yaml" --repeat 2 --results "$T/warm-$pool" >/dev/null || true
  "$BLACKOUT" run -c "$T/small.yaml" --hosts "$T/$pool.yaml" --repeat "$repeat" --results "$T/rep-$pool" \
    2>/dev/null | grep -E "runs/hour|^host|10.231" | sed "s/^/$pool host(s): /"
done
echo "(both test hosts run on this machine's 2 cores)"
