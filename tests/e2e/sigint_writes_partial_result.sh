#!/usr/bin/env bash
# Ctrl-C stops the VM, still writes the partial result, and exits 130.
. "$(dirname "$0")/lib.sh"
"$BLACKOUT" run --workload smoke --duration 60s --results "$T/results" &
BG_PID=$!
wait_for_heartbeat
q=$(qemu_pid)
kill -INT "$BG_PID"
wait "$BG_PID"
rc=$?
BG_PID=""
[ "$rc" -eq 130 ] || fail "exit $rc, want 130 (interrupted)"
[ -f "$(result)" ] || fail "no result.json after Ctrl-C"
check '.interrupted == true'
check '.timings.first_heartbeat_s > 0'
kill -0 "$q" 2>/dev/null && fail "qemu $q still running after Ctrl-C"
echo "PASS sigint: $(jq -r '.verdict + ": " + .title' "$(result)")"
