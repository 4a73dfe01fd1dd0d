#!/usr/bin/env bash
# One of QEMU's vCPU threads starved on the host for 6 s (SCHED_IDLE, pinned
# beside a nice -20 hog): the freeze that follows is blamed on the host
# (host-contention, from the thread's run delay in schedstat), not the kernel.
# The guest may show after-effects later (its clocksource watchdog can call the
# TSC unstable); only the freeze over the injected window is the host's.
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
ev="$(run_dir)events.jsonl"
b=$(jq -s '[.[] | select(.type == "inject-begin")][0].t' "$ev")
e=$(jq -s '[.[] | select(.type == "inject-end")][0].t' "$ev")
[ "$b" != null ] && [ "$e" != null ] || fail "no inject-begin/inject-end events"
over="[.freezes[] | select(.host_start_s < $e and .host_start_s + .length_s > $b)]"
check "$over | length == 1"
check "$over[0].length_s > 3 and $over[0].cause == \"host-contention\" and $over[0].run_delay_fraction > 0.3"
echo "PASS host contention: $(jq -c '[.freezes[] | {length_s, vcpus, cause, run_delay_fraction}]' "$(result)")"
