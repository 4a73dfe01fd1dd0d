#!/usr/bin/env bash
# blackout killed with SIGKILL takes its QEMU with it (PR_SET_PDEATHSIG; under
# libvirt, the domain's autodestroy when blackout's connection closes), and
# the run it had in flight is settled as infra-error by the next blackout that
# opens the results store.
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
id=$(basename "$(run_dir)")
if [ "$BACKEND" = libvirt ] && virsh -c qemu:///system list --all --name | grep -qx "blackout-$id"; then
  fail "domain blackout-$id outlived a SIGKILLed blackout"
fi
"$BLACKOUT" results --results "$T/results" --json > "$T/list.json" 2> "$T/list.err" || fail "results after the kill"
grep -q "1 run(s) left running by a blackout that died were settled" "$T/list.err" || fail "not settled: $(cat "$T/list.err")"
jq -e --arg id "$id" '[.[] | select(.id == $id)][0] | .verdict == "infra-error" and (.title | test("exited mid-run"))' \
  "$T/list.json" >/dev/null || fail "the killed run is not an infra-error: $(cat "$T/list.json")"
echo "PASS sigkill: qemu $q is gone, run $id settled as infra-error"
