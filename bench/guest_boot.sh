#!/usr/bin/env bash
# Time from QEMU's start to the first heartbeat for each guest type (and
# xen-pv-domu with dom0 booted, saved and restored), with and without the fast
# option set, RUNS runs each (median printed), next to the same dom0 boot by
# its plain QEMU command line (console to a file) measured in this run as the
# baseline.
#   bench/guest_boot.sh [RUNS]   (default 3)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
runs=${1:-3}
bench_count RUNS "$runs"
BLACKOUT=build/bin/blackout
T=$(mktemp -d /tmp/blackout-bench-XXXXXX)
trap 'rm -rf "$T"' EXIT
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
bench_run "$BLACKOUT" --workload idle --duration 1s --results "$T/warm" >/dev/null || true

STATES="${XDG_CACHE_HOME:-$HOME/.cache}/blackout/dom0-state"
# xen-pv-domu three ways: dom0 booted for the run (saved_state: false), cold
# (no saved state: dom0 boots, its state is saved, the run goes on) and warm
# (the state the cold runs saved, restored).
declare -A med
kinds="xen-pv-dom0 xen-pv-domu-booted xen-pv-domu-cold xen-pv-domu-warm hvm"
for kind in $kinds; do
  type=${kind%-booted}; type=${type%-cold}; type=${type%-warm}
  saved=true; [ "$kind" = xen-pv-domu-booted ] && saved=false
  for fast in false true; do
    if [ "$type" = xen-pv-domu ]; then
      printf 'guest:\n  type: %s\n  fast: %s\n  dom0: {saved_state: %s}\nworkload: {name: idle, duration: 1s}\n' \
        "$type" "$fast" "$saved" > "$T/c.yaml"
    else
      printf 'guest:\n  type: %s\n  fast: %s\nworkload: {name: idle, duration: 1s}\n' "$type" "$fast" > "$T/c.yaml"
    fi
    # Warm runs restore a state: the one this config saves first, unmeasured
    # (the cold runs before saved the other fast setting's, or none).
    if [ "$kind" = xen-pv-domu-warm ]; then
      rm -rf "$T/r"
      bench_run "$BLACKOUT" -c "$T/c.yaml" --results "$T/r" >/dev/null || true
    fi
    for i in $(seq "$runs"); do
      [ "$kind" = xen-pv-domu-cold ] && rm -rf "$STATES"
      rm -rf "$T/r"
      bench_run "$BLACKOUT" -c "$T/c.yaml" --keep-scratch --results "$T/r" >/dev/null || true
      bench_checking && continue 2
      jq -r '.timings.first_heartbeat_s' "$T"/r/*/result.json >> "$T/$kind-$fast"
      [ "$kind-$fast" = xen-pv-dom0-false ] && [ "$i" = 1 ] && cp "$T"/r/*/result.json "$T/dom0.json"
      if [ "$i" != 1 ] || [ "$kind-$fast" != xen-pv-dom0-false ]; then
        scratch=$(scratch_of "$T"/r/*/result.json) && rm -rf "$scratch"
      fi
    done
    med[$kind-$fast]=$(median < "$T/$kind-$fast")
  done
done

bench_checking && exit 0

# The baseline: the dom0 QEMU command line by hand, console to a file.
hand_command "$T/dom0.json" "$T/serial.log"
for i in $(seq "$runs"); do
  rm -f "$T/serial.log"
  t0=$(date +%s.%N)
  "${hand[@]}" >/dev/null 2>&1 </dev/null &
  q=$!
  until grep -qs '@BH1' "$T/serial.log" || ! kill -0 "$q" 2>/dev/null; do sleep 0.02; done
  echo "$(date +%s.%N) $t0" | awk '{ printf "%.3f\n", $1 - $2 }' >> "$T/hand"
  kill "$q" 2>/dev/null; wait "$q" 2>/dev/null || true
done
scratch=$(scratch_of "$T/dom0.json") && rm -rf "$scratch"
base=$(median < "$T/hand")

printf '%-28s %10s %8s\n' "first heartbeat (median of $runs)" "seconds" "ratio"
printf '%-28s %10.2f %8.2f\n' "plain QEMU, dom0 (baseline)" "$base" 1
for kind in $kinds; do for fast in false true; do k=$kind-$fast
  printf '%-28s %10.2f %8.2f\n' "$k" "${med[$k]}" "$(awk -v a="${med[$k]}" -v b="$base" 'BEGIN { print a / b }')"
done; done
