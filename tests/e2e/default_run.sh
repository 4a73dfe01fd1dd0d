#!/usr/bin/env bash
# `blackout run` with only a duration boots the default kernel as Xen PV dom0
# with 2 vCPUs and runs the default workload, pv-spinlock-race, for a minute
# (its ramp, steady and burst phases once) on a healthy kernel: a pass with no
# freeze at all, every stressor busy in every steady interval. (The 3-minute
# soak on 4 vCPUs is the slow tier's pv_spinlock_race_4_vcpus.)
. "$(dirname "$0")/lib.sh"
"$BLACKOUT" run --duration 1m --results "$T/results"
rc=$?
[ "$rc" -eq 0 ] || fail "exit $rc, want 0 (pass)"
check '.verdict == "pass"'
check '.config.guest.type == "xen-pv-dom0" and .config.guest.vcpus == 2'
check '.config.workload.name == "pv-spinlock-race" and .config.workload.duration_s == 60'
check '.accel.mode == "tcg" or .accel.mode == "kvm"'
check '.kernel.xen_pv == true and (.kernel.version | length) > 0'
check '.timings.first_heartbeat_s > 0'
check '.stats.heartbeats > 500'
check '(.freezes | length) == 0'
# A record torn on the console is lost, not a stall; a few may be, not many.
check '.stats.lost_heartbeats * 100 < .stats.heartbeats'
check '(.stats.stressors | length) >= 6 and ([.stats.stressors[].ops] | min) > 0'
check '(.stats.intervals | length) >= 5'
check '[.stats.intervals[] | select(.phase == "steady") | .ops | all(. > 0)] | all'
check '.stats.guest_counters.intr > 0'
grep -q '@BH1' "$(run_dir)console.log" || fail "console.log has no heartbeats"
[ -s "$(run_dir)events.jsonl" ] || fail "no events.jsonl"
echo "PASS default run, 1m on 2 vCPUs: $(jq -c '{first_heartbeat_s: .timings.first_heartbeat_s, heartbeats: .stats.heartbeats, lost: .stats.lost_heartbeats, host: .stats.host, guest: .stats.guest_counters}' "$(result)")"
