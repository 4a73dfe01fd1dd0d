#!/usr/bin/env bash
# The default workload, pv-spinlock-race, for 3 minutes on a guest with N vCPUs
# ($2, default 4; default_run does 2) on a healthy kernel: a pass with no freeze at all, every
# stressor busy in every interval of the phases that run it.
. "$(dirname "$0")/lib.sh"
vcpus=${2:-4}
cfg=$(config <<YAML
guest: {vcpus: $vcpus}
workload: pv-spinlock-race
YAML
)
"$BLACKOUT" run -c "$cfg" --duration 3m --results "$T/results"
rc=$?
[ "$rc" -eq 0 ] || fail "exit $rc, want 0 (pass)"
check '.config.workload.name == "pv-spinlock-race" and .config.guest.vcpus == '"$vcpus"
check '(.freezes | length) == 0'
# A record torn on the console is lost, not a stall; a few may be, not many.
check '.stats.lost_heartbeats * 100 < .stats.heartbeats'
check '(.stats.intervals | length) >= 17'
check '.stats.stressors | all(.ops > 0 and .errors == 0)'
# In steady phases every stressor made progress in every interval.
check '[.stats.intervals[] | select(.phase == "steady") | .ops | all(. > 0)] | all'
echo "PASS pv-spinlock-race 3m on $vcpus vCPUs: $(jq -c '{heartbeats: .stats.heartbeats, lost: .stats.lost_heartbeats, bad_seal: .stats.rejected_bad_seal, host: .stats.host, guest: .stats.guest_counters, clock_jumps: .stats.clock_jumps, not_believed: [.reports[] | select(.discounted) | .title]}' "$(result)")"
