#!/usr/bin/env bash
# blackout pauses the domU through libvirt (virDomainSuspend on libxl) for 4 s:
# the run is a stall with one whole-guest freeze of about 4 s. On a Xen host
# the domU's clock is Xen's and runs on through the pause, so the guest clock
# cannot say the VM was not run: the cause is "unattributed", never
# "guest-internal" (which would blame the kernel for the host's pause).
. "$(dirname "$0")/lib.sh"
on_xen_host
cfg=$(config <<'YAML'
guest: xen-pv-domu
workload:
  name: smoke
  duration: 20s
inject:
  - pause: 4s
    at: 6s
YAML
)
"$BLACKOUT" run -c "$cfg" --host "$XEN_HOST" --results "$T/results"
rc=$?
[ "$rc" -eq 1 ] || fail "exit $rc, want 1 (stall)"
check '(.freezes | length) == 1'
check '.freezes[0].whole_guest and .freezes[0].cause == "unattributed"'
check '(.freezes[0].length_s - 4 | fabs) < 0.6'
echo "PASS Xen host pause: freeze $(jq -c '.freezes[0] | {length_s, cause}' "$(result)")"
