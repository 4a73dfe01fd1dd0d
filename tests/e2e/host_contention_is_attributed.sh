#!/usr/bin/env bash
# One of QEMU's vCPU threads starved on the host for 6 s (SCHED_IDLE, pinned
# beside a nice -20 hog): the freeze that follows is blamed on the host
# (host-contention, from the thread's run delay in schedstat), not the kernel.
. "$(dirname "$0")/lib.sh"
cfg=$(config <<'YAML'
workload:
  name: smoke
  duration: 30s
inject:
  - starve: 6s
    cpu: 1
    at: 8s
YAML
)
"$BLACKOUT" run -c "$cfg" --results "$T/results"
rc=$?
[ "$rc" -eq 1 ] || fail "exit $rc, want 1 (stall)"
check '.verdict == "stall"'
check '[.freezes[] | select(.length_s > 3)] | length >= 1'
check '[.freezes[] | select(.length_s > 3)] | all(.cause == "host-contention" and .run_delay_fraction > 0.3)'
echo "PASS host contention: $(jq -c '[.freezes[] | {length_s, vcpus, cause, run_delay_fraction}]' "$(result)")"
