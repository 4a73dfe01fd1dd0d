#!/usr/bin/env bash
# blackout killed with SIGKILL takes its QEMU with it (PR_SET_PDEATHSIG).
. "$(dirname "$0")/lib.sh"
"$BLACKOUT" run --workload smoke --duration 60s --results "$T/results" &
BG_PID=$!
wait_for_heartbeat
q=$(qemu_pid)
[ -n "$q" ] || fail "no qemu child of blackout"
kill -9 "$BG_PID"
wait "$BG_PID" 2>/dev/null
BG_PID=""
for _ in $(seq 1 50); do
  kill -0 "$q" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$q" 2>/dev/null; then
  kill -9 "$q"
  fail "qemu $q outlived a SIGKILLed blackout"
fi
echo "PASS sigkill: qemu $q is gone"
