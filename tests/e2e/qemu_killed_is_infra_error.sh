#!/usr/bin/env bash
# A QEMU killed from outside mid-run is the host's fault: infra-error.
. "$(dirname "$0")/lib.sh"
"$BLACKOUT" run --workload smoke --duration 60s --results "$T/results" &
BG_PID=$!
wait_for_heartbeat
q=$(qemu_pid)
[ -n "$q" ] || fail "no qemu child of blackout"
kill -9 "$q"
wait "$BG_PID"
rc=$?
BG_PID=""
[ "$rc" -eq 5 ] || fail "exit $rc, want 5 (infra-error)"
check '.verdict == "infra-error"'
if [ "$BACKEND" = libvirt ]; then
  check '.title | test("vm died: libvirt: QEMU failed or was killed")'
else
  check '.title | test("killed by signal 9")'
fi
echo "PASS qemu killed: $(jq -r .title "$(result)")"
