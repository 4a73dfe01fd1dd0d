#!/usr/bin/env bash
# `blackout run` with no arguments boots the default kernel as Xen PV dom0,
# runs the default workload and passes.
. "$(dirname "$0")/lib.sh"
"$BLACKOUT" run --results "$T/results"
rc=$?
[ "$rc" -eq 0 ] || fail "exit $rc, want 0 (pass)"
check '.verdict == "pass"'
check '.config.guest.type == "xen-pv-dom0" and .config.guest.vcpus == 2'
check '.config.workload.name == "pv-spinlock-race" and .config.workload.duration_s == 60'
check '.accel.mode == "tcg" or .accel.mode == "kvm"'
check '.kernel.xen_pv == true and (.kernel.version | length) > 0'
check '.timings.first_heartbeat_s > 0'
check '.stats.heartbeats > 500'
check '(.stats.stressors | length) >= 5 and ([.stats.stressors[].ops] | min) > 0'
grep -q '@BH1' "$(run_dir)console.log" || fail "console.log has no heartbeats"
[ -s "$(run_dir)events.jsonl" ] || fail "no events.jsonl"
echo "PASS default run: $(jq -r '.timings.first_heartbeat_s, .timings.total_s' "$(result)" | tr '\n' ' ')"
