# Shared helpers for the e2e scripts: each script boots real guests through
# the real blackout binary ($1) and checks one behaviour.
set -uo pipefail
BLACKOUT=${1:?usage: $0 path/to/blackout}
T=$(mktemp -d /tmp/blackout-e2e-XXXXXX)
# A BLACKOUT_STORE from the caller's environment would send the tests' runs
# into somebody's shared store: only BLACKOUT_TEST_STORE (set by
# tests/pg_store_check.sh) chooses one.
unset BLACKOUT_STORE
if [ -n "${BLACKOUT_TEST_STORE:-}" ]; then export BLACKOUT_STORE=$BLACKOUT_TEST_STORE; fi
BG_PID=""
cleanup() {
  if [ -n "$BG_PID" ]; then { kill -9 "$BG_PID"; wait "$BG_PID"; } 2>/dev/null; fi
  if declare -F hosts_cleanup >/dev/null; then hosts_cleanup; fi
  if [ -z "${KEEP:-}" ]; then rm -rf "$T"; else echo "kept $T"; fi
}
trap cleanup EXIT

# BLACKOUT_E2E_BACKEND=libvirt (set by CMake for the e2e_libvirt_* tests)
# runs the same script on libvirt's qemu:///system: `run` and `test` get
# --backend libvirt, and every check also wants the run to say so.
BACKEND=${BLACKOUT_E2E_BACKEND:-qemu}
if [ "$BACKEND" = libvirt ]; then
  real_blackout=$BLACKOUT
  BLACKOUT="$T/blackout"
  cat > "$BLACKOUT" <<EOF
#!/bin/sh
case "\$1" in
  run|test) cmd=\$1; shift; exec "$real_blackout" "\$cmd" --backend libvirt "\$@" ;;
esac
exec "$real_blackout" "\$@"
EOF
  chmod +x "$BLACKOUT"
fi

fail() {
  echo "FAIL: $*" >&2
  for f in "$T"/results/*/result.json; do
    [ -f "$f" ] && jq '{verdict, title, error, freezes, reports, clock_jumps: .stats.clock_jumps, timings}' "$f" >&2
  done
  exit 1
}

# The only run directory under $T/results.
run_dir() { ls -d "$T"/results/*/ 2>/dev/null | head -1; }
result() { echo "$(run_dir)result.json"; }
# jq expression on result.json must be true.
check() {
  jq -e "$1" "$(result)" >/dev/null || fail "expected $1"
  jq -e --arg b "$BACKEND" '.backend == $b' "$(result)" >/dev/null || fail "the run did not use the $BACKEND backend"
}

# Waits until the run's console shows a heartbeat (the guest is up and beating).
wait_for_heartbeat() {
  for _ in $(seq 1 600); do
    if grep -qs '@BH1' "$T"/results/*/console.log; then return 0; fi
    kill -0 "$BG_PID" 2>/dev/null || fail "blackout exited before the first heartbeat"
    sleep 0.5
  done
  fail "no heartbeat within 300s"
}

# The QEMU process blackout started (libvirt's child, under libvirt: found by
# its domain's name, blackout-RUNID).
qemu_pid() {
  if [ "$BACKEND" = libvirt ]; then
    pgrep -f "guest=blackout-$(basename "$(run_dir)")," | head -1
  else
    pgrep -P "$BG_PID" -f qemu-system-x86_64 | head -1
  fi
}

config() { cat > "$T/run.yaml"; echo "$T/run.yaml"; }

# Runs `blackout bisect start` on the plan $1 (report in $T/report.txt, also
# printed) and checks that it found the culprit: exit 0 and a top candidate
# line matching the grep pattern $2 at 99% or more (left in TOP_PCT).
bisect_must_find() {
  "$BLACKOUT" bisect --results "$T/results" start -c "$1" > "$T/report.txt"
  local rc=$? top
  cat "$T/report.txt"
  [ "$rc" -eq 0 ] || fail "bisect exit $rc, want 0 (found)"
  top=$(grep -A1 '^top candidates:' "$T/report.txt" | tail -1)
  echo "$top" | grep -q -- "$2" || fail "top candidate does not match '$2': $top"
  TOP_PCT=$(echo "$top" | awk '{print $1}' | tr -d %)
  awk -v p="$TOP_PCT" 'BEGIN { exit !(p >= 99) }' || fail "the top candidate holds only $TOP_PCT%"
}

# bisect_store_holds CULPRIT: the results store holds one bisection, found,
# naming CULPRIT with at least 99%, and every run its log records.
bisect_store_holds() {
  local runs bid
  runs=$("$BLACKOUT" bisect --results "$T/results" log | grep -c '"step"')
  "$BLACKOUT" results --results "$T/results" bisections --json > "$T/bis.json" || fail "results bisections"
  jq -e --arg c "$1" --argjson n "$runs" 'length == 1 and .[0].status == "found" and .[0].culprit == $c
    and .[0].runs == $n and .[0].probability >= 0.99' "$T/bis.json" >/dev/null || fail "store: $(cat "$T/bis.json")"
  bid=$(jq -r '.[0].id' "$T/bis.json")
  [ "$("$BLACKOUT" results --results "$T/results" --bisection "$bid" --json | jq length)" = "$runs" ] ||
    fail "the store does not hold the bisection's $runs runs"
}

# The nested Xen host of the e2e_xen_host_* tests (xen_host_fixture.sh
# serves it): runs go there with --host "$XEN_HOST"; checks want libvirt.
XEN_HOST="xen+tcp://127.0.0.1:${XEN_HOST_PORT:-16600}/system"
on_xen_host() { BACKEND=libvirt; }
# How many blackout domains the Xen host runs now.
xen_host_domains() {
  virsh -c "$XEN_HOST" list --name > "$T/domains" 2>&1 || fail "virsh list on $XEN_HOST: $(cat "$T/domains")"
  grep -c '^blackout-' "$T/domains"
}
