#!/usr/bin/env bash
# blackout pauses the VM through QMP for 3 s and then for 8 s mid-workload:
# the run is a stall with two whole-guest freezes, each measured within 0.5 s
# of its pause, and the guest clock shows the VM was not run (vm-external).
. "$(dirname "$0")/lib.sh"
cfg=$(config <<'YAML'
workload:
  name: smoke
  duration: 40s
inject:
  - pause: 3s
    at: 6s
  - pause: 8s
    at: 16s
YAML
)
"$BLACKOUT" run -c "$cfg" --results "$T/results"
rc=$?
[ "$rc" -eq 1 ] || fail "exit $rc, want 1 (stall)"
check '.verdict == "stall"'
check '(.freezes | length) == 2'
check '.freezes | all(.whole_guest and .cause == "vm-external")'
check '(.freezes[0].length_s - 3 | fabs) < 0.5'
check '(.freezes[1].length_s - 8 | fabs) < 0.5'
echo "PASS pauses: freezes $(jq -c '[.freezes[].length_s]' "$(result)")"
