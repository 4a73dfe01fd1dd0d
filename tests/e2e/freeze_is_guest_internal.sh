#!/usr/bin/env bash
# A real freeze inside the guest (the agent's SCHED_FIFO spinner starves
# vCPU 1 for 6 s) is a stall of vCPU 1 alone, classified guest-internal.
. "$(dirname "$0")/lib.sh"
cfg=$(config <<'YAML'
workload:
  name: smoke
  duration: 25s
  faults:
    - kind: freeze
      vcpu: 1
      at: 5s
      length: 6s
YAML
)
"$BLACKOUT" run -c "$cfg" --results "$T/results"
rc=$?
[ "$rc" -eq 1 ] || fail "exit $rc, want 1 (stall)"
check '.verdict == "stall"'
check '(.freezes | length) == 1'
check '.freezes[0].vcpus == [1] and .freezes[0].whole_guest == false'
check '.freezes[0].cause == "guest-internal"'
check '(.freezes[0].length_s - 6 | fabs) < 1'
echo "PASS guest-internal freeze: $(jq -c '.freezes[0] | {vcpus, length_s, cause}' "$(result)")"
