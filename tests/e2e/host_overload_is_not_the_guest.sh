#!/usr/bin/env bash
# The whole host overloaded (stress-ng --cpu 4 on two cores, at the guest's
# own priority) while a guest runs the smoke workload: any freeze blackout
# sees is blamed on the host (host-contention or host-lateness) or on the VM
# not being run (vm-external), never on the kernel (guest-internal), and the
# run is not a lockup or crash.
. "$(dirname "$0")/lib.sh"
stress-ng --cpu 4 --timeout 240s --quiet &
BG_PID=$!
"$BLACKOUT" run --workload smoke --duration 30s --results "$T/results"
rc=$?
kill "$BG_PID" 2>/dev/null
wait "$BG_PID" 2>/dev/null
BG_PID=""
[ "$rc" -eq 0 ] || [ "$rc" -eq 1 ] || fail "exit $rc, want 0 (pass) or 1 (a stall blamed on the host)"
check '[.freezes[] | select(.cause == "guest-internal")] | length == 0'
echo "PASS host overload: verdict $(jq -r .verdict "$(result)"), freezes $(jq -c '[.freezes[] | {length_s, cause}]' "$(result)")"
