#!/usr/bin/env bash
# blackout pauses the VM through QMP for 8 s mid-workload: the run is a stall
# with one whole-guest freeze measured within 1 s of the pause, and the guest
# clock shows the VM was not run (vm-external).
. "$(dirname "$0")/lib.sh"
cfg=$(config <<'YAML'
workload:
  name: smoke
  duration: 30s
inject:
  - pause: 8s
    at: 8s
YAML
)
"$BLACKOUT" run -c "$cfg" --results "$T/results"
rc=$?
[ "$rc" -eq 1 ] || fail "exit $rc, want 1 (stall)"
check '.verdict == "stall"'
check '(.freezes | length) == 1'
check '.freezes[0].length_s > 7.0 and .freezes[0].length_s < 9.0'
check '.freezes[0].whole_guest == true'
check '.freezes[0].cause == "vm-external"'
echo "PASS pause: freeze $(jq -r '.freezes[0].length_s' "$(result)")s"
